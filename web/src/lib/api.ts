import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './api-schema'
import { toApiError } from './errors'
import { currentToken, clearSession } from './session'
import { currentLocale } from './i18n'

/**
 * The typed API client. Types come from api-schema.d.ts, generated from the backend's
 * OpenAPI document (`npm run gen:api`), so a renamed field breaks the build, not the page.
 */
export const api = createClient<paths>({ baseUrl: '' })

type UnauthorizedListener = () => void
const unauthorizedListeners = new Set<UnauthorizedListener>()

/** Run `fn` whenever the server says the token is no longer valid (HTTP 401). */
export function onUnauthorized(fn: UnauthorizedListener): () => void {
  unauthorizedListeners.add(fn)
  return () => unauthorizedListeners.delete(fn)
}

const authMiddleware: Middleware = {
  onRequest({ request }) {
    const token = currentToken()
    if (token && !request.headers.has('Authorization')) {
      request.headers.set('Authorization', `Bearer ${token}`)
    }
    request.headers.set('Accept-Language', currentLocale())
    return request
  },
  onResponse({ request, response }) {
    // A 401 on login itself is just a wrong password, not an expired session.
    if (response.status === 401 && !new URL(request.url, location.href).pathname.endsWith('/auth/login')) {
      clearSession()
      for (const fn of unauthorizedListeners) fn()
    }
    return response
  },
}
api.use(authMiddleware)

interface Outcome<T> {
  data?: T
  error?: unknown
  response: Response
}

/**
 * Await an openapi-fetch call and return its data, or throw an ApiError built from the
 * server's error body (TypeError for network failures, as fetch throws them).
 */
export async function unwrap<T>(call: Promise<Outcome<T>>): Promise<T> {
  const { data, error, response } = await call
  if (!response.ok || error !== undefined) {
    throw toApiError(response.status, error, response.headers.get('Retry-After'))
  }
  return data as T
}

export type Schemas = components['schemas']
