// Sharing a pad or a folder: the pad's address, who can open it, share links and members. The pad
// page's share dialog and the dashboard's manage dialog both render these sections.
import './share.css'
import { api, type Folder, type Link, type LinkCreated, type Member, type Pad } from './api'
import { el } from './dom'
import { lang, t } from './i18n'

/** What is shared; a pad may name its folder, whose people can open it too. */
export type Shared = { kind: 'pad', item: Pad, folderName?: string } | { kind: 'folder', item: Folder }

export interface SharingHooks {
  /** Say what went wrong. */
  onError: (e: unknown) => void
  /** An action starts: what was said before no longer holds. */
  onStart?: () => void
  /** An action succeeded: what the page shows of this pad or folder may be stale. */
  onChange?: () => void
}

type Role = Member['role']
/** Run a change: clear what was said; then ``done`` and tell the page, or say what went wrong. */
type Start = <T>(work: Promise<T>, done: (value: T) => void) => void

const date = (ms: number): string => new Date(ms).toLocaleString(lang)

/** Fill ``body`` with the sharing sections of a pad or a folder; one who is not its owner sees only the address. */
export function renderSharing (body: HTMLElement, shared: Shared, hooks: SharingHooks): void {
  const { kind, item } = shared
  const path = kind === 'pad' ? `/pads/${item.id}` : `/folders/${item.id}`
  const start: Start = (work, done) => {
    hooks.onStart?.()
    work.then((value) => { done(value); hooks.onChange?.() }).catch(hooks.onError)
  }
  body.classList.add('sharing')
  body.replaceChildren()
  if (shared.kind === 'pad') body.append(addressSection(shared.item, shared.folderName))
  if (item.role !== 'owner') {
    body.append(el('p', t('share.onlyManagers'), { class: 'muted' }))
    return
  }
  if (shared.kind === 'pad') body.append(visibilitySection(shared.item, path, start))
  body.append(linksSection(kind, path, start, hooks.onError), membersSection(kind, path, start, hooks.onError))
}

function copyRow (input: HTMLInputElement, id: string): HTMLElement {
  const row = el('div', '', { class: 'row copy-row' })
  const copy = el('button', t('pad.copyLink'), { type: 'button', id, class: 'small' })
  copy.addEventListener('click', () => {
    input.select()
    void navigator.clipboard?.writeText(input.value).then(() => { copy.textContent = t('pad.copied') }).catch(() => {})
  })
  row.append(input, copy)
  return row
}

function addressSection (pad: Pad, folderName: string | undefined): HTMLElement {
  const section = el('section', '', { id: 'address-section' })
  const address = el('input', '', { readonly: '', id: 'pad-address', value: new URL(`p/${pad.id}`, document.baseURI).href, 'aria-label': t('share.address') })
  section.append(el('h3', t('share.address')), copyRow(address, 'copy-address'))
  if (folderName !== undefined) section.append(el('p', t('share.folderAccess', { name: folderName }), { class: 'muted small' }))
  return section
}

function visibilitySection (pad: Pad, path: string, start: Start): HTMLElement {
  const form = el('form', '', { id: 'visibility-form' })
  const fieldset = el('fieldset')
  fieldset.append(el('legend', t('share.visibility')))
  const passwordLabel = el('label', '', { id: 'visibility-password' })
  const password = el('input', '', { type: 'password', name: 'password', autocomplete: 'new-password' })
  passwordLabel.append(el('span', t('dash.password')), password)
  if (pad.visibility === 'password') passwordLabel.append(el('span', t('share.passwordKeep'), { class: 'muted small' }))
  const sync = (): void => {
    const value = (form.querySelector('input[name=visibility]:checked') as HTMLInputElement | null)?.value
    passwordLabel.hidden = value !== 'password'
    password.required = value === 'password' && pad.visibility !== 'password'
  }
  for (const [value, key] of [['public', 'share.public'], ['private', 'share.private'], ['password', 'share.passwordVis']] as const) {
    const label = el('label', '', { class: 'radio' })
    const radio = el('input', '', { type: 'radio', name: 'visibility', value })
    radio.checked = pad.visibility === value
    radio.addEventListener('change', sync)
    label.append(radio, el('span', t(key)))
    fieldset.append(label)
  }
  const status = el('span', '', { role: 'status', class: 'muted small', id: 'visibility-status' })
  const row = el('div', '', { class: 'row' })
  row.append(el('button', t('share.save'), { type: 'submit', class: 'primary small' }), status)
  fieldset.append(passwordLabel, row)
  form.append(fieldset)
  sync()
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const visibility = (form.querySelector('input[name=visibility]:checked') as HTMLInputElement).value
    const change: Record<string, string> = { visibility }
    if (visibility === 'password' && password.value) change.password = password.value
    status.textContent = ''
    start(api<Pad>('PATCH', path, change), (p) => {
      pad.visibility = p.visibility
      password.value = ''
      status.textContent = t('share.saved')
      sync()
    })
  })
  return form
}

function linksSection (kind: Shared['kind'], path: string, start: Start, onError: (e: unknown) => void): HTMLElement {
  const section = el('section', '', { id: 'links-section' })
  const list = el('ul', '', { id: 'link-list', class: 'plain' })
  const form = el('form', '', { id: 'new-link', class: 'row' })
  const role = el('select', '', { name: 'role', 'aria-label': t('share.role') })
  role.append(el('option', t('share.editor'), { value: 'editor' }), el('option', t('share.viewer'), { value: 'viewer' }))
  const expires = el('select', '', { name: 'expires', 'aria-label': t('share.expires') })
  for (const [value, key] of [['', 'share.never'], ['86400', 'share.day'], ['604800', 'share.week'], ['2592000', 'share.month']] as const) {
    expires.append(el('option', t(key), { value }))
  }
  const roleLabel = el('label')
  roleLabel.append(el('span', t('share.role')), role)
  const expiresLabel = el('label')
  expiresLabel.append(el('span', t('share.expires')), expires)
  form.append(roleLabel, expiresLabel, el('button', t('share.create'), { type: 'submit', class: 'primary small' }))

  const created = el('div', '', { id: 'new-link-box', class: 'notice' })
  created.hidden = true
  const url = el('input', '', { readonly: '', id: 'new-link-url', 'aria-label': t('share.newLink') })
  created.append(el('p', t('share.linkOnce'), { class: 'small' }), copyRow(url, 'copy-link'))

  const refresh = (): void => {
    api<Link[]>('GET', `${path}/links`).then((links) => {
      list.replaceChildren(...links.map((link) => {
        const li = el('li', '', { 'data-link-id': String(link.id), 'data-role': link.role })
        const text = [
          link.role === 'editor' ? t('share.editor') : t('share.viewer'),
          t('share.linkCreated', { date: date(link.created_at) }),
          link.expires_at ? t('share.linkExpires', { date: date(link.expires_at) }) : t('share.linkNoExpiry')
        ].join(' · ')
        const revoke = el('button', t('share.revoke'), { type: 'button', 'data-action': 'revoke', class: 'small danger' })
        revoke.addEventListener('click', () => start(api('DELETE', `${path}/links/${link.id}`), refresh))
        li.append(el('span', text), revoke)
        return li
      }))
      if (links.length === 0) list.append(el('li', t('share.noLinks'), { class: 'muted' }))
    }).catch(onError)
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const payload: Record<string, unknown> = { role: role.value }
    if (expires.value) payload.expires_in = Number(expires.value)
    start(api<LinkCreated>('POST', `${path}/links`, payload), (link) => {
      url.value = link.url
      created.hidden = false
      url.focus()
      url.select()
      refresh()
    })
  })
  section.append(el('h3', t('share.links')),
    el('p', t(kind === 'pad' ? 'share.linksHelp' : 'share.folderLinksHelp'), { class: 'muted small' }),
    form, created, list)
  refresh()
  return section
}

function membersSection (kind: Shared['kind'], path: string, start: Start, onError: (e: unknown) => void): HTMLElement {
  const section = el('section', '', { id: 'members-section' })
  const list = el('ul', '', { id: 'member-list', class: 'plain' })
  const form = el('form', '', { id: 'add-member', class: 'row' })
  const username = el('input', '', { name: 'username', required: '', autocomplete: 'off', 'aria-label': t('auth.username'), placeholder: t('auth.username') })
  const roleSelect = (value: Role, label: string): HTMLSelectElement => {
    const select = el('select', '', { name: 'role', 'aria-label': label })
    for (const r of ['editor', 'viewer', 'owner'] as const) select.append(el('option', t(`role.${r}`), { value: r }))
    select.value = value
    return select
  }
  const role = roleSelect('editor', t('share.role'))
  form.append(username, role, el('button', t('share.addMember'), { type: 'submit', class: 'primary small' }))
  const put = (name: string, r: string): Promise<unknown> =>
    api('PUT', `${path}/members/${encodeURIComponent(name)}`, { role: r })

  const refresh = (): void => {
    api<Member[]>('GET', `${path}/members`).then((members) => {
      list.replaceChildren(...members.map((m) => {
        const li = el('li', '', { 'data-member': m.username, 'data-role': m.role })
        const change = roleSelect(m.role, t('share.memberRole', { name: m.username }))
        change.dataset.action = 'role'
        // A refused change puts the select back to the role the server kept.
        change.addEventListener('change', () => start(put(m.username, change.value).catch((e: unknown) => { refresh(); throw e }), refresh))
        const remove = el('button', t('share.remove'), { type: 'button', 'data-action': 'remove', class: 'small danger' })
        remove.addEventListener('click', () => start(api('DELETE', `${path}/members/${encodeURIComponent(m.username)}`), refresh))
        li.append(el('span', m.username, { class: 'member-name' }), change, remove)
        return li
      }))
      if (members.length === 0) list.append(el('li', t('share.noMembers'), { class: 'muted' }))
    }).catch(onError)
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const name = username.value.trim()
    if (!name) return
    start(put(name, role.value), () => { username.value = ''; refresh() })
  })
  section.append(el('h3', t('share.members')),
    el('p', t(kind === 'pad' ? 'share.membersHelp' : 'share.folderMembersHelp'), { class: 'muted small' }),
    form, list)
  refresh()
  return section
}
