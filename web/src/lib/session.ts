import { ref } from 'vue'

/**
 * The bearer token, kept in localStorage so a reload keeps the user signed in. This
 * module has no other imports so both the API client and the auth store can use it.
 */
const STORAGE_KEY = 'cloudwindow.console.session'

interface Stored {
  token: string
  expiresAt: string | null
}

function load(): Stored | null {
  try {
    const raw = localStorage.getItem(STORAGE_KEY)
    if (!raw) return null
    const v = JSON.parse(raw) as Stored
    if (typeof v.token !== 'string' || !v.token) return null
    if (v.expiresAt && Date.parse(v.expiresAt) <= Date.now()) return null
    return v
  } catch {
    return null
  }
}

const initial = load()
export const token = ref<string | null>(initial?.token ?? null)
export const expiresAt = ref<string | null>(initial?.expiresAt ?? null)

export function saveSession(newToken: string, newExpiresAt: string | null): void {
  token.value = newToken
  expiresAt.value = newExpiresAt
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ token: newToken, expiresAt: newExpiresAt }))
  } catch {
    // storage blocked: the session lasts until the tab closes
  }
}

export function clearSession(): void {
  token.value = null
  expiresAt.value = null
  try {
    localStorage.removeItem(STORAGE_KEY)
  } catch {
    // ignore
  }
}

/** The token if it has not expired yet. */
export function currentToken(): string | null {
  if (!token.value) return null
  if (expiresAt.value && Date.parse(expiresAt.value) <= Date.now()) {
    clearSession()
    return null
  }
  return token.value
}
