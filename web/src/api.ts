// The JSON API under /api/v1: the session cookie, with the CSRF token on writes.
export class ApiError extends Error {
  constructor (readonly status: number, readonly detail: string) {
    super(detail)
  }
}

export interface User { id: number, username: string, is_admin: boolean, created_at: number }
export interface Pad {
  id: string, title: string, visibility: 'public' | 'private' | 'password', owner_id: number | null
  folder_id: string | null, role: 'owner' | 'editor' | 'viewer', read_only: boolean, chat: boolean
  created_at: number, updated_at: number
}
export interface Folder {
  id: string, name: string, owner_id: number, archived: boolean, role: 'owner' | 'editor' | 'viewer'
  created_at: number, updated_at: number
}
export interface FolderDetail extends Folder { pads: Pad[] }
export interface Member { username: string, role: 'owner' | 'editor' | 'viewer', created_at: number }
export interface Link { id: number, role: 'editor' | 'viewer', created_at: number, expires_at: number | null }
export interface LinkCreated extends Link { token: string, url: string }

/** An address inside the app, which may live under a path prefix (the page's <base href>). */
export function appUrl (path: string): string {
  return new URL(path, document.baseURI).href
}

let csrf: string | null = null
let me: User | null | undefined

/** The logged-in user (cached for the page), or null. */
export async function currentUser (): Promise<User | null> {
  if (me !== undefined) return me
  const r = await fetch(appUrl('api/v1/me'), { credentials: 'same-origin' })
  if (r.ok) {
    const body = await r.json() as { user: User, csrf_token: string | null }
    csrf = body.csrf_token
    me = body.user
  } else {
    me = null
  }
  return me
}

/** Call the API; bearer ``token`` (a share-link or unlock token) instead of the cookie if given. */
export async function api<T> (method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`
  else if (method !== 'GET') {
    if (csrf === null) await currentUser()
    if (csrf) headers['X-CSRF-Token'] = csrf
  }
  const r = await fetch(appUrl(`api/v1${path}`), {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!r.ok) {
    let detail = r.statusText
    try {
      const j = await r.json() as { detail: unknown }
      detail = typeof j.detail === 'string' ? j.detail : JSON.stringify(j.detail)
    } catch { /* not JSON */ }
    throw new ApiError(r.status, detail)
  }
  return (r.status === 204 ? undefined : await r.json()) as T
}

export async function login (username: string, password: string): Promise<User> {
  const body = await api<{ user: User, csrf_token: string }>('POST', '/auth/login', { username, password })
  csrf = body.csrf_token
  me = body.user
  return body.user
}

export async function register (username: string, password: string, invite?: string): Promise<void> {
  await api('POST', '/auth/register', { username, password, ...(invite ? { invite } : {}) })
}

export async function logout (): Promise<void> {
  await api('POST', '/auth/logout')
  csrf = null
  me = null
}

/** Pads opened on this device, newest first (the dashboard's "recently opened"). */
export function rememberPad (id: string, title: string): void {
  const list = recentPads().filter((p) => p.id !== id)
  list.unshift({ id, title, at: Date.now() })
  localStorage.setItem('crdtpad.recent', JSON.stringify(list.slice(0, 20)))
}

export function recentPads (): Array<{ id: string, title: string, at: number }> {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem('crdtpad.recent') ?? '[]')
    return Array.isArray(parsed) ? parsed as Array<{ id: string, title: string, at: number }> : []
  } catch {
    return []
  }
}
