import './register-sw'
import './style.css'
import { byId, el } from './dom'
import './dashboard.css'
import { ApiError, api, currentUser, recentPads, type Folder, type FolderDetail, type Pad, type User } from './api'
import { renderHeader } from './header'
import { lang, t, translate, type Key } from './i18n'
import { renderSharing, type Shared } from './share'

// The dashboard (MyPads' job): folders and their pads, my pads, pads shared with me, recently opened,
// and everything an owner does with them — create, rename, move, archive, delete, members, share links.

const $ = byId


function button (key: Key, action: string, extra: Record<string, string> = {}): HTMLButtonElement {
  return el('button', t(key), { type: 'button', 'data-action': action, class: 'small', ...extra })
}

let me: User = { id: -1, username: '', is_admin: false, created_at: 0 }
let loggedIn = false
let folders: FolderDetail[] = []
let pads: Pad[] = []

// ---- errors --------------------------------------------------------------------------------

function errorText (e: unknown): string {
  if (e instanceof ApiError) {
    if (e.detail.startsWith('[')) {
      try {
        const items = JSON.parse(e.detail) as Array<{ msg?: string, loc?: unknown[] }>
        return items.map((i) => `${(i.loc ?? []).slice(1).join('.')}: ${i.msg ?? ''}`).join('; ')
      } catch { /* fall through */ }
    }
    return e.detail
  }
  return t('error.generic', { detail: String(e) })
}

function showError (e: unknown): void {
  const dialog = $('manage-dialog') as HTMLDialogElement
  const box = dialog.open ? $('dialog-alert') : $('alert')
  box.textContent = errorText(e)
  box.hidden = false
}

function clearErrors (): void {
  $('alert').hidden = true
  $('dialog-alert').hidden = true
}

/** Run an API action: clear old errors, show a new one, reload the lists after success if asked. */
function act (work: Promise<unknown>, reload = true): void {
  clearErrors()
  work.then(() => (reload ? load() : undefined)).catch(showError)
}

// ---- data ----------------------------------------------------------------------------------

async function load (): Promise<void> {
  const [folderList, padList] = await Promise.all([api<Folder[]>('GET', '/folders'), api<Pad[]>('GET', '/pads')])
  folders = await Promise.all(folderList.map((f) =>
    api<FolderDetail>('GET', `/folders/${f.id}`).catch(() => ({ ...f, pads: [] as Pad[] }))))
  pads = padList
  render()
}

const padTitle = (p: { title: string }): string => p.title || t('pad.untitled')
const date = (ms: number): string => new Date(ms).toLocaleString(lang)
const day = (ms: number): string => new Date(ms).toLocaleDateString(lang)

/** Folders a pad may go into: those where I can write, not archived. */
const targetFolders = (): FolderDetail[] => folders.filter((f) => f.role !== 'viewer' && !f.archived)

// ---- rendering -----------------------------------------------------------------------------

function query (): string {
  return ($('search') as HTMLInputElement).value.trim().toLowerCase()
}

const matches = (text: string, q: string): boolean => q === '' || text.toLowerCase().includes(q)

function render (): void {
  const q = query()
  restoreFocus = document.activeElement?.closest('form.inline') != null
  renderFolderSelect()

  // Folders: shown when the name matches (all pads) or when some pad matches (those pads).
  const list = $('folder-list')
  list.replaceChildren()
  const ordered = [...folders].sort((a, b) => Number(a.archived) - Number(b.archived))
  let shown = 0
  for (const f of ordered) {
    const nameHit = matches(f.name, q)
    const padHits = nameHit ? f.pads : f.pads.filter((p) => matches(padTitle(p), q))
    if (!nameHit && padHits.length === 0) continue
    list.append(folderSection(f, padHits))
    shown++
  }
  if (folders.length === 0) list.append(el('p', t('dash.noFolders'), { class: 'muted' }))

  // Pads outside my visible folders: mine, and shared with me.
  const inFolders = new Set(folders.map((f) => f.id))
  const loose = pads.filter((p) => p.folder_id === null || !inFolders.has(p.folder_id))
  const mine = loose.filter((p) => p.owner_id === me.id)
  const shared = loose.filter((p) => p.owner_id !== me.id)
  shown += fillPadList($('my-pad-list'), mine, q, false)
  shown += fillPadList($('shared-pad-list'), shared, q, true)

  // Recently opened on this device.
  const known = new Map([...pads, ...folders.flatMap((f) => f.pads)].map((p) => [p.id, p.title]))
  const recent = recentPads().map((r) => ({ ...r, title: known.get(r.id) ?? r.title }))
    .filter((r) => matches(r.title || t('pad.untitled'), q) || matches(r.id, q))
  const recentList = $('recent-list')
  recentList.replaceChildren(...recent.map((r) => {
    const li = el('li', '', { class: 'pad', 'data-recent-id': r.id })
    const main = el('div', '', { class: 'pad-main' })
    main.append(el('a', r.title || t('pad.untitled'), { href: `p/${r.id}`, class: 'pad-title' }),
      el('span', date(r.at), { class: 'muted small' }))
    li.append(main)
    return li
  }))
  if (recent.length === 0) recentList.append(el('li', t('dash.empty'), { class: 'muted' }))
  shown += recent.length

  $('no-match').hidden = q === '' || shown > 0
}

function renderFolderSelect (): void {
  const select = document.querySelector<HTMLSelectElement>('#new-pad select[name=folder]')
  if (!select) return
  const previous = select.value
  select.replaceChildren(el('option', t('dash.noFolder'), { value: '' }),
    ...targetFolders().map((f) => el('option', f.name, { value: f.id })))
  if ([...select.options].some((o) => o.value === previous)) select.value = previous
}

function fillPadList (ul: HTMLElement, list: Pad[], q: string, shared: boolean): number {
  const hits = list.filter((p) => matches(padTitle(p), q))
  ul.replaceChildren(...hits.map((p) => padRow(p, shared)))
  if (hits.length === 0) ul.append(el('li', t('dash.empty'), { class: 'muted' }))
  return hits.length
}

function badge (text: string, cls = ''): HTMLSpanElement {
  return el('span', text, { class: `badge ${cls}`.trim() })
}

function padRow (pad: Pad, shared: boolean): HTMLLIElement {
  const li = el('li', '', { class: 'pad', 'data-pad-id': pad.id, 'data-role': pad.role })
  const main = el('div', '', { class: 'pad-main' })
  const titleId = `pad-title-${pad.id}`
  const link = el('a', padTitle(pad), { href: `p/${pad.id}`, class: 'pad-title', id: titleId })
  const meta = el('span', '', { class: 'meta' })
  meta.append(badge(t(`vis.${pad.visibility}`), `vis-${pad.visibility}`))
  if (pad.role !== 'owner') meta.append(badge(t('dash.role', { role: t(`role.${pad.role}`) })))
  if (pad.read_only) meta.append(badge(t('dash.readOnly'), 'ro'))
  meta.append(el('span', t('dash.updated', { date: day(pad.updated_at) }), { class: 'muted small' }))
  main.append(link, meta)

  const actions = el('div', '', { class: 'actions' })
  const describe = { 'aria-describedby': titleId }
  if (pad.role === 'owner') {
    const rename = button('dash.rename', 'rename', describe)
    const openRename = (value: string, focus: boolean): void =>
      renameForm(`pad:${pad.id}`, main, value, 'title', (title) => api('PATCH', `/pads/${pad.id}`, { title }), focus)
    rename.addEventListener('click', () => openRename(pad.title, true))
    const move = button('dash.move', 'move', describe)
    move.addEventListener('click', () => moveForm(main, pad, pad.folder_id ?? '', true))
    if (openInline?.host === `pad:${pad.id}`) {
      const { kind, value } = openInline
      queueMicrotask(() => kind === 'rename' ? openRename(value, restoreFocus) : moveForm(main, pad, value, restoreFocus))
    }
    const share = button('pad.share', 'share', describe)
    share.addEventListener('click', () => openManage({ kind: 'pad', item: pad, folderName: folders.find((f) => f.id === pad.folder_id)?.name }, 'share'))
    const del = button('dash.delete', 'delete', { ...describe, class: 'small danger' })
    del.addEventListener('click', () => {
      if (confirm(t('dash.confirmDelete', { name: padTitle(pad) }))) act(api('DELETE', `/pads/${pad.id}`))
    })
    actions.append(rename, move, share, del)
  } else if (shared) {
    const leave = button('dash.leave', 'leave', describe)
    leave.addEventListener('click', () => {
      if (confirm(t('dash.confirmLeave', { name: padTitle(pad) }))) {
        act(api('DELETE', `/pads/${pad.id}/members/${encodeURIComponent(me.username)}`))
      }
    })
    actions.append(leave)
  }
  li.append(main, actions)
  return li
}

function folderSection (folder: FolderDetail, shownPads: Pad[]): HTMLElement {
  const section = el('section', '', {
    class: 'folder card', 'data-folder-id': folder.id, 'data-role': folder.role, 'data-archived': String(folder.archived)
  })
  const head = el('div', '', { class: 'folder-head' })
  const titleId = `folder-title-${folder.id}`
  const title = el('div', '', { class: 'folder-title' })
  const h3 = el('h3', folder.name, { id: titleId })
  const meta = el('span', '', { class: 'meta' })
  if (folder.archived) meta.append(badge(t('dash.archived'), 'ro'))
  if (folder.role !== 'owner') meta.append(badge(t('dash.role', { role: t(`role.${folder.role}`) })))
  meta.append(el('span', t('dash.padCount', { count: folder.pads.length }), { class: 'muted small' }))
  title.append(h3, meta)

  const actions = el('div', '', { class: 'actions' })
  const describe = { 'aria-describedby': titleId }
  if (folder.role !== 'viewer' && !folder.archived) {
    const add = button('dash.newPadHere', 'new-pad', describe)
    add.addEventListener('click', () => {
      const form = $('new-pad') as HTMLFormElement
      ;(form.elements.namedItem('folder') as HTMLSelectElement).value = folder.id
      form.scrollIntoView({ behavior: 'smooth', block: 'center' })
      ;(form.elements.namedItem('title') as HTMLInputElement).focus()
    })
    actions.append(add)
  }
  if (folder.role === 'owner') {
    const rename = button('dash.rename', 'rename', describe)
    const openRename = (value: string, focus: boolean): void =>
      renameForm(`folder:${folder.id}`, title, value, 'name', (name) => api('PATCH', `/folders/${folder.id}`, { name }), focus)
    rename.addEventListener('click', () => openRename(folder.name, true))
    if (openInline?.host === `folder:${folder.id}`) {
      const { value } = openInline
      queueMicrotask(() => openRename(value, restoreFocus))
    }
    const share = button('pad.share', 'share', describe)
    share.addEventListener('click', () => openManage({ kind: 'folder', item: folder }, 'share'))
    const members = button('share.members', 'members', describe)
    members.addEventListener('click', () => openManage({ kind: 'folder', item: folder }, 'members'))
    const archive = button(folder.archived ? 'dash.unarchive' : 'dash.archive', 'archive', describe)
    archive.addEventListener('click', () => act(api('PATCH', `/folders/${folder.id}`, { archived: !folder.archived })))
    const del = button('dash.delete', 'delete', { ...describe, class: 'small danger' })
    del.addEventListener('click', () => {
      if (confirm(t('dash.confirmDeleteFolder', { name: folder.name, count: folder.pads.length }))) {
        act(api('DELETE', `/folders/${folder.id}`))
      }
    })
    actions.append(rename, share, members, archive, del)
  } else if (folder.owner_id !== me.id) {
    const leave = button('dash.leave', 'leave', describe)
    leave.addEventListener('click', () => {
      if (confirm(t('dash.confirmLeave', { name: folder.name }))) {
        act(api('DELETE', `/folders/${folder.id}/members/${encodeURIComponent(me.username)}`))
      }
    })
    actions.append(leave)
  }
  head.append(title, actions)
  if (folder.archived) section.append(head, el('p', t('dash.archivedHelp'), { class: 'muted small' }))
  else section.append(head)

  const ul = el('ul', '', { class: 'pad-list' })
  ul.append(...shownPads.map((p) => padRow(p, false)))
  if (folder.pads.length === 0) ul.append(el('li', t('dash.emptyFolder'), { class: 'muted' }))
  section.append(ul)
  return section
}

/** The inline form open now (kept across re-renders), and whether it had the focus. */
let openInline: { host: string, kind: 'rename' | 'move', value: string } | null = null
let restoreFocus = false

/** Swap ``shown`` for a small inline form (rename or move) until it is submitted or cancelled. */
function inlineForm (
  hostKey: string, shown: HTMLElement, kind: 'rename' | 'move', field: HTMLInputElement | HTMLSelectElement,
  submitKey: Key, onSubmit: () => Promise<unknown>, focus: boolean
): void {
  const old = shown.nextElementSibling
  if (old?.matches('form.inline')) old.remove()
  const form = el('form', '', { class: 'inline row', 'data-form': kind })
  const cancel = el('button', t('dash.cancel'), { type: 'button', 'data-action': 'cancel', class: 'small' })
  form.append(field, el('button', t(submitKey), { type: 'submit', class: 'small primary' }), cancel)
  shown.hidden = true
  shown.after(form)
  openInline = { host: hostKey, kind, value: field.value }
  const track = (): void => { if (openInline?.host === hostKey) openInline.value = field.value }
  field.addEventListener('input', track)
  field.addEventListener('change', track)
  const close = (): void => {
    form.remove()
    shown.hidden = false
    if (openInline?.host === hostKey) openInline = null
  }
  cancel.addEventListener('click', close)
  form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') close() })
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    clearErrors()
    onSubmit().then(() => {
      if (openInline?.host === hostKey) openInline = null
      return load()
    }).catch(showError)
  })
  if (focus) field.focus()
}

function renameForm (
  hostKey: string, shown: HTMLElement, current: string, name: string,
  save: (value: string) => Promise<unknown>, focus: boolean
): void {
  const input = el('input', '', { name, maxlength: '200', 'aria-label': t('dash.newName') })
  input.value = current
  if (name === 'name') input.required = true
  inlineForm(hostKey, shown, 'rename', input, 'share.save', () => save(input.value.trim()), focus)
  if (focus) input.select()
}

function moveForm (shown: HTMLElement, pad: Pad, current: string, focus: boolean): void {
  const select = el('select', '', { name: 'folder', 'aria-label': t('dash.move') })
  select.append(el('option', t('dash.noFolder'), { value: '' }),
    ...targetFolders().map((f) => el('option', f.name, { value: f.id })))
  select.value = current
  inlineForm(`pad:${pad.id}`, shown, 'move', select, 'dash.moveButton',
    () => api('PATCH', `/pads/${pad.id}`, { folder_id: select.value === '' ? null : select.value }), focus)
}

// ---- the sharing dialog (pads and folders) -------------------------------------------------

let dialogChanged = false
let dialogTarget: { shared: Shared, focus: 'share' | 'members' } | null = null

function openManage (shared: Shared, focus: 'share' | 'members'): void {
  dialogTarget = { shared, focus }
  clearErrors()
  fillDialog()
  const dialog = $('manage-dialog') as HTMLDialogElement
  if (!dialog.open) dialog.showModal()
  const target = focus === 'members'
    ? dialog.querySelector<HTMLElement>('#add-member input[name=username]')
    : dialog.querySelector<HTMLElement>('#new-link select[name=role]')
  target?.scrollIntoView({ block: 'nearest' })
  target?.focus()
}

function fillDialog (): void {
  if (!dialogTarget) return
  const { shared } = dialogTarget
  const dialog = $('manage-dialog') as HTMLDialogElement
  dialog.dataset.kind = shared.kind
  dialog.dataset.id = shared.item.id
  $('manage-title').textContent = shared.kind === 'pad'
    ? t('dash.managePad', { name: padTitle(shared.item) })
    : t('dash.manageFolder', { name: shared.item.name })
  renderSharing(dialog.querySelector('.body') as HTMLElement, shared, {
    onError: showError,
    onStart: clearErrors,
    onChange: () => { dialogChanged = true }
  })
}

// ---- page ----------------------------------------------------------------------------------

function wireForms (): void {
  const newPad = $('new-pad') as HTMLFormElement
  const field = <T extends Element>(form: HTMLFormElement, name: string): T => form.elements.namedItem(name) as unknown as T
  const visibility = field<HTMLSelectElement>(newPad, 'visibility')
  const password = field<HTMLInputElement>(newPad, 'password')
  const syncPassword = (): void => {
    $('new-pad-password').hidden = visibility.value !== 'password'
    password.required = visibility.value === 'password'
  }
  visibility.addEventListener('change', syncPassword)
  syncPassword()
  newPad.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const body: Record<string, unknown> = {
      title: field<HTMLInputElement>(newPad, 'title').value.trim(),
      visibility: visibility.value
    }
    if (visibility.value === 'password') body.password = password.value
    const folder = field<HTMLSelectElement>(newPad, 'folder').value
    if (folder) body.folder_id = folder
    clearErrors()
    api<Pad>('POST', '/pads', body).then((pad) => { location.href = `p/${pad.id}` }).catch(showError)
  })

  const newFolder = $('new-folder') as HTMLFormElement
  newFolder.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const name = field<HTMLInputElement>(newFolder, 'name')
    clearErrors()
    api('POST', '/folders', { name: name.value.trim() }).then(() => { name.value = ''; return load() }).catch(showError)
  })

  $('search').addEventListener('input', render)
  const dialog = $('manage-dialog') as HTMLDialogElement
  $('manage-close').addEventListener('click', () => dialog.close())
  dialog.addEventListener('close', () => {
    dialogTarget = null
    $('dialog-alert').hidden = true
    if (dialogChanged) load().catch(showError)
    dialogChanged = false
  })
}

async function main (): Promise<void> {
  translate()
  await renderHeader(() => {
    if (!loggedIn) return
    render()
    fillDialog()
  })
  const user = await currentUser().catch(() => null)
  if (!user) {
    $('login-needed').hidden = false
    return
  }
  me = user
  loggedIn = true
  $('dashboard').hidden = false
  wireForms()
  await load().catch(showError)
}

void main()
