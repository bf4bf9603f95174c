import './register-sw'
import './style.css'
import { byId, el } from './dom'
import './dashboard.css'
import { ApiError, api, currentUser, type User } from './api'
import { renderHeader } from './header'
import { lang, t, translate, type Key } from './i18n'

// The instance admin's page: totals, accounts (search, disable, enable), pads (search, erase), invites.

interface AdminUser { id: number, username: string, is_admin: boolean, created_at: number, disabled: boolean }
interface AdminPad {
  id: string, title: string, visibility: 'public' | 'private' | 'password', owner: string | null
  folder_id: string | null, created_at: number, updated_at: number
}
type Stats = Record<'users' | 'disabled_users' | 'pads' | 'deleted_pads' | 'folders' | 'live_rooms' | 'connections', number>

const PAGE = 50
const $ = byId


const date = (ms: number): string => new Date(ms).toLocaleString(lang)

function showError (e: unknown): void {
  const box = $('alert')
  box.textContent = e instanceof ApiError ? e.detail : t('error.generic', { detail: String(e) })
  box.hidden = false
}
const clearError = (): void => { $('alert').hidden = true }

let me: User
let stats: Stats | null = null
let users: AdminUser[] = []
let pads: AdminPad[] = []
let invite: { code: string, expires_at: number } | null = null

// ---- stats ---------------------------------------------------------------------------------

const STAT_KEYS: Array<[keyof Stats, Key]> = [
  ['users', 'admin.stat.users'], ['disabled_users', 'admin.stat.disabledUsers'], ['pads', 'admin.stat.pads'],
  ['deleted_pads', 'admin.stat.deletedPads'], ['folders', 'admin.stat.folders'],
  ['live_rooms', 'admin.stat.liveRooms'], ['connections', 'admin.stat.connections']
]

async function loadStats (): Promise<void> {
  stats = await api<Stats>('GET', '/admin/stats')
  renderStats()
}

function renderStats (): void {
  const dl = $('stats')
  dl.replaceChildren()
  if (!stats) return
  for (const [field, key] of STAT_KEYS) {
    const box = el('div', '', { 'data-stat': field })
    box.append(el('dt', t(key)), el('dd', String(stats[field])))
    dl.append(box)
  }
}

// ---- users ---------------------------------------------------------------------------------

const searchValue = (formId: string): string =>
  (($(formId) as HTMLFormElement).elements.namedItem('q') as HTMLInputElement).value.trim()

async function loadUsers (more = false): Promise<void> {
  const offset = more ? users.length : 0
  const page = await api<AdminUser[]>('GET', `/admin/users?q=${encodeURIComponent(searchValue('user-search'))}&limit=${PAGE}&offset=${offset}`)
  users = more ? [...users, ...page] : page
  $('users-more').hidden = page.length < PAGE
  renderUsers()
}

function renderUsers (): void {
  const body = document.querySelector('#user-table tbody') as HTMLElement
  body.replaceChildren(...users.map((u) => {
    const tr = el('tr', '', { 'data-user-id': String(u.id), 'data-username': u.username, 'data-disabled': String(u.disabled) })
    const name = el('td')
    name.append(el('span', u.username))
    if (u.is_admin) name.append(' ', el('span', t('admin.isAdmin'), { class: 'badge' }))
    if (u.id === me.id) name.append(' ', el('span', t('admin.you'), { class: 'badge' }))
    const actions = el('td')
    if (u.id !== me.id) {
      const toggle = el('button', t(u.disabled ? 'admin.enable' : 'admin.disable'), {
        type: 'button', class: u.disabled ? 'small' : 'small danger', 'data-action': u.disabled ? 'enable' : 'disable',
        'aria-label': `${t(u.disabled ? 'admin.enable' : 'admin.disable')} ${u.username}`
      })
      toggle.addEventListener('click', () => {
        clearError()
        api<AdminUser>('PATCH', `/admin/users/${u.id}`, { disabled: !u.disabled }).then((changed) => {
          users = users.map((x) => (x.id === changed.id ? changed : x))
          renderUsers()
          return loadStats()
        }).catch(showError)
      })
      actions.append(toggle)
    }
    tr.append(name, el('td', date(u.created_at)),
      el('td', t(u.disabled ? 'admin.disabled' : 'admin.active'), { 'data-status': u.disabled ? 'disabled' : 'active' }), actions)
    return tr
  }))
  if (users.length === 0) body.append(emptyRow(4))
}

function emptyRow (span: number): HTMLTableRowElement {
  const tr = el('tr')
  tr.append(el('td', t('admin.noResults'), { colspan: String(span), class: 'muted' }))
  return tr
}

// ---- pads ----------------------------------------------------------------------------------

async function loadPads (more = false): Promise<void> {
  const offset = more ? pads.length : 0
  const page = await api<AdminPad[]>('GET', `/admin/pads?q=${encodeURIComponent(searchValue('pad-search'))}&limit=${PAGE}&offset=${offset}`)
  pads = more ? [...pads, ...page] : page
  $('pads-more').hidden = page.length < PAGE
  renderPads()
}

function renderPads (): void {
  const body = document.querySelector('#pad-table tbody') as HTMLElement
  body.replaceChildren(...pads.map((p) => {
    const tr = el('tr', '', { 'data-pad-id': p.id })
    const title = el('td')
    title.append(el('a', p.title || t('pad.untitled'), { href: `p/${p.id}` }), el('br'), el('code', p.id, { class: 'muted small' }))
    const del = el('button', t('dash.delete'), {
      type: 'button', class: 'small danger', 'data-action': 'delete',
      'aria-label': `${t('dash.delete')} ${p.title || t('pad.untitled')}`
    })
    del.addEventListener('click', () => {
      if (!confirm(t('admin.confirmDeletePad', { name: p.title || t('pad.untitled'), id: p.id }))) return
      clearError()
      api('DELETE', `/admin/pads/${p.id}`).then(() => {
        pads = pads.filter((x) => x.id !== p.id)
        renderPads()
        return loadStats()
      }).catch(showError)
    })
    const actions = el('td')
    actions.append(del)
    tr.append(title, el('td', p.owner ?? t('admin.noOwner')), el('td', t(`vis.${p.visibility}`)), el('td', date(p.updated_at)), actions)
    return tr
  }))
  if (pads.length === 0) body.append(emptyRow(5))
}

// ---- invites -------------------------------------------------------------------------------

function renderInvite (): void {
  if (!invite) return
  $('invite-box').hidden = false
  ;($('invite-code') as HTMLInputElement).value = invite.code
  $('invite-expires').textContent = t('admin.inviteExpires', { date: date(invite.expires_at) })
}

// ---- page ----------------------------------------------------------------------------------

function debounce (fn: () => void, ms = 250): () => void {
  let timer: number | undefined
  return () => { window.clearTimeout(timer); timer = window.setTimeout(fn, ms) }
}

function wire (): void {
  $('stats-refresh').addEventListener('click', () => { clearError(); loadStats().catch(showError) })
  $('new-invite').addEventListener('click', () => {
    clearError()
    api<{ code: string, expires_at: number }>('POST', '/admin/invites').then((i) => {
      invite = i
      renderInvite()
      const input = $('invite-code') as HTMLInputElement
      input.focus()
      input.select()
    }).catch(showError)
  })
  $('copy-invite').addEventListener('click', () => {
    const input = $('invite-code') as HTMLInputElement
    input.select()
    void navigator.clipboard?.writeText(input.value).then(() => { $('copy-invite').textContent = t('pad.copied') }).catch(() => {})
  })
  for (const [formId, reload, moreId] of [['user-search', loadUsers, 'users-more'], ['pad-search', loadPads, 'pads-more']] as const) {
    const form = $(formId) as HTMLFormElement
    form.addEventListener('submit', (ev) => { ev.preventDefault(); clearError(); reload().catch(showError) })
    form.addEventListener('input', debounce(() => { reload().catch(showError) }))
    $(moreId).addEventListener('click', () => { reload(true).catch(showError) })
  }
}

async function main (): Promise<void> {
  translate()
  let ready = false
  await renderHeader(() => {
    if (!ready) return
    renderStats()
    renderUsers()
    renderPads()
    renderInvite()
  })
  const user = await currentUser().catch(() => null)
  if (user?.is_admin !== true) {
    $('not-admin').hidden = false
    $('login-link').hidden = user !== null
    return
  }
  me = user
  ready = true
  $('admin').hidden = false
  wire()
  await Promise.all([loadStats(), loadUsers(), loadPads()]).catch(showError)
}

void main()
