import { computed, reactive } from 'vue'
import { api, unwrap } from './api'
import { clearSession, currentToken, saveSession, token } from './session'
import { hasPermission } from './permissions'
import type { User } from './models'

/** Who is signed in and what they may do (from /api/auth/me). */
interface AuthState {
  user: User | null
  permissions: string[]
  loaded: boolean
}

export const auth = reactive<AuthState>({ user: null, permissions: [], loaded: false })

export const isAuthenticated = computed(() => token.value !== null && currentToken() !== null)

export function can(permission: string | undefined): boolean {
  return hasPermission(auth.permissions, permission)
}

export async function login(username: string, password: string): Promise<User> {
  const res = await unwrap(api.POST('/api/auth/login', { body: { username, password } }))
  saveSession(res.token, res.expires_at ?? null)
  auth.user = res.user
  auth.loaded = false
  await loadMe()
  return res.user
}

/** Fetch the current user and permissions; clears the session if the token is stale. */
export async function loadMe(): Promise<void> {
  const me = await unwrap(api.GET('/api/auth/me'))
  auth.user = me.user
  auth.permissions = [...me.permissions]
  auth.loaded = true
}

export async function logout(): Promise<void> {
  try {
    if (currentToken()) await unwrap(api.POST('/api/auth/logout'))
  } finally {
    forget()
  }
}

/** Drop the local session without calling the server (e.g. after a 401). */
export function forget(): void {
  clearSession()
  auth.user = null
  auth.permissions = []
  auth.loaded = false
}
