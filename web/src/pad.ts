// The pad page, /p/{pad_id}: a Quill 2 editor bound to the pad's Y.Text "content", live cursors,
// people, chat, sharing, export; kept on the device and working offline.
import 'quill/dist/quill.snow.css'
import './register-sw'
import './style.css'
import './pad.css'
import Quill from 'quill'
import QuillCursors from 'quill-cursors'
import { QuillBinding } from 'y-quill'
import { ApiError, api, appUrl, currentUser, rememberPad, type Pad } from './api'
import { mountAuthorship } from './authorship'
import { mountChat } from './chat'
import { byId } from './dom'
import { mountHistory } from './history'
import { safeColor } from './color'
import { renderHeader } from './header'
import { t, translate, type Key } from './i18n'
import { PadSync, type Status } from './provider'

Quill.register('modules/cursors', QuillCursors)

const padId = decodeURIComponent(/\/p\/([^/]+)$/.exec(location.pathname)?.[1] ?? '')
const $ = byId

/** A share-link token arrives in the address's fragment (never sent to a server); keep it for this tab. */
function padToken (): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token')
  if (fromHash) {
    sessionStorage.setItem(`crdtpad.token.${padId}`, fromHash)
    history.replaceState(null, '', location.pathname)
  }
  return sessionStorage.getItem(`crdtpad.token.${padId}`) ?? localStorage.getItem(`crdtpad.unlock.${padId}`)
}

function showEnded (key: Key, vars: Record<string, string> = {}): void {
  const box = $('ended')
  box.textContent = t(key, vars)
  box.hidden = false
}

function randomColor (): string {
  const hue = Math.floor(Math.random() * 360)
  return `hsl(${hue} 70% 45%)`
}

function hslToHex (color: string): string {
  if (color.startsWith('#')) return color
  const probe = document.createElement('span')
  probe.style.color = color
  document.body.append(probe)
  const rgb = getComputedStyle(probe).color.match(/\d+/g) ?? ['0', '0', '0']
  probe.remove()
  return '#' + rgb.slice(0, 3).map((n) => Number(n).toString(16).padStart(2, '0')).join('')
}

async function loadPad (token: string | null): Promise<Pad | null> {
  try {
    const pad = await api<Pad>('GET', `/pads/${padId}`, undefined, token ?? undefined)
    localStorage.setItem(`crdtpad.meta.${padId}`, JSON.stringify(pad))
    return pad
  } catch (e) {
    if (e instanceof ApiError) {
      if (e.status === 401 && e.detail.includes('/unlock')) return await askPassword()
      if (e.status === 401 && token !== null) {
        // A link or unlock token that no longer works: try as who we are without it.
        sessionStorage.removeItem(`crdtpad.token.${padId}`)
        localStorage.removeItem(`crdtpad.unlock.${padId}`)
        return await loadPad(null)
      }
      showEnded(e.status === 410 ? 'pad.ended.4410' : e.status === 401 ? 'pad.ended.4401' : 'pad.ended.4404')
      return null
    }
    // Offline: open what this device kept.
    const cached = localStorage.getItem(`crdtpad.meta.${padId}`)
    return cached ? JSON.parse(cached) as Pad : { id: padId, title: '', visibility: 'public', owner_id: null, folder_id: null, role: 'editor', read_only: false, chat: true, created_at: 0, updated_at: 0 }
  }
}

async function askPassword (): Promise<Pad | null> {
  const form = $('password-form') as HTMLFormElement
  form.hidden = false
  return await new Promise((resolve) => {
    form.addEventListener('submit', (ev) => {
      ev.preventDefault()
      const password = ($('pad-password') as HTMLInputElement).value
      api<{ token: string }>('POST', `/pads/${padId}/unlock`, { password })
        .then(async ({ token }) => {
          localStorage.setItem(`crdtpad.unlock.${padId}`, token)
          form.hidden = true
          resolve(await loadPad(token))
        })
        .catch(() => { $('password-error').textContent = t('pad.unlockFailed') })
    })
  })
}

/** Etherpad's list shortcuts (Ctrl-B/I/U come with Quill): Ctrl-Shift-L bullets, Ctrl-Shift-N numbers. */
function etherpadShortcuts (): Record<string, unknown> {
  const toggle = (kind: 'bullet' | 'ordered') => function (this: { quill: Quill }, _range: unknown, context: { format: Record<string, unknown> }) {
    this.quill.format('list', context.format.list === kind ? false : kind, 'user')
    return false
  }
  const bindings: Record<string, unknown> = {}
  for (const [key, kind] of [['l', 'bullet'], ['L', 'bullet'], ['n', 'ordered'], ['N', 'ordered']] as const) {
    bindings[`list-${key}`] = { key, shortKey: true, shiftKey: true, handler: toggle(kind) }
  }
  return bindings
}

async function main (): Promise<void> {
  translate()
  await renderHeader(() => renderStatus())
  const pad = await loadPad(padToken())
  if (pad === null) return
  const token = padToken() // an unlock token, if the pad asked for its password
  rememberPad(padId, pad.title)
  document.title = `${pad.title || t('pad.untitled')} — crdtpad`
  $('pad-title').textContent = pad.title || t('pad.untitled')
  const readOnly = pad.read_only
  $('read-only').hidden = !readOnly
  $('app').hidden = false

  const quill = new Quill($('editor'), {
    theme: 'snow',
    readOnly,
    modules: {
      cursors: { transformOnTextChange: true },
      toolbar: readOnly ? false : [
        [{ header: [1, 2, 3, false] }],
        ['bold', 'italic', 'underline', 'strike'],
        [{ list: 'ordered' }, { list: 'bullet' }],
        ['link', 'code', 'code-block'],
        ['clean']
      ],
      history: { userOnly: true },
      keyboard: { bindings: { ...etherpadShortcuts(), save: { key: 's', shortKey: true, handler: () => { saveRevision(); return false } } } }
    }
  })
  const sync = new PadSync(padId, token)
  const ytext = sync.doc.getText('content')
  new QuillBinding(ytext, quill, sync.provider.awareness) // eslint-disable-line no-new

  // Who I am to the others: a name and colour kept on this device.
  const me = { name: localStorage.getItem('crdtpad.name') ?? '', color: localStorage.getItem('crdtpad.color') ?? randomColor() }
  const user = await currentUser().catch(() => null)
  if (!me.name && user) me.name = user.username
  localStorage.setItem('crdtpad.color', me.color)
  const guest = t('pad.guest', { n: sync.doc.clientID % 1000 })
  const publish = (): void => sync.provider.awareness.setLocalStateField('user', { name: me.name || guest, color: me.color })
  publish()
  const nameInput = $('my-name') as HTMLInputElement
  const colorInput = $('my-color') as HTMLInputElement
  nameInput.value = me.name
  colorInput.value = hslToHex(me.color)
  nameInput.addEventListener('change', () => { me.name = nameInput.value.trim().slice(0, 40); localStorage.setItem('crdtpad.name', me.name); publish() })
  colorInput.addEventListener('input', () => { me.color = colorInput.value; localStorage.setItem('crdtpad.color', me.color); publish() })
  const renderUsers = (): void => {
    const items = [...sync.provider.awareness.getStates()].flatMap(([client, state]) => {
      const u = (state as { user?: { name?: string, color?: string } }).user
      if (!u) return []
      const li = document.createElement('li')
      const dot = document.createElement('span')
      dot.className = 'dot'
      dot.style.backgroundColor = safeColor(u.color)
      li.append(dot, document.createTextNode(` ${String(u.name ?? '?').slice(0, 40)}${client === sync.doc.clientID ? ` (${t('pad.you')})` : ''}`))
      return [li]
    })
    $('users').replaceChildren(...items)
  }
  sync.provider.awareness.on('change', renderUsers)
  renderUsers()

  const shown = (): { name: string, color: string } => ({ name: me.name || guest, color: me.color })
  // The server checks that a message names its sender: an account posts as itself, others as anon:.
  const authorId = user ? `user:${user.username}` : `anon:${sync.doc.clientID}`
  const moderate = pad.role === 'owner'
    ? async (messageId: string | null): Promise<void> => {
      const path = messageId === null ? `/pads/${padId}/chat` : `/pads/${padId}/chat/${encodeURIComponent(messageId)}`
      await api('DELETE', path, undefined, token ?? undefined).catch((e: unknown) => alert(t('error.generic', { detail: String(e) })))
    }
    : null
  const switchChat = pad.role === 'owner'
    ? async (on: boolean): Promise<boolean> => {
      try {
        await api('PATCH', `/pads/${padId}`, { chat: on }, token ?? undefined)
        return true
      } catch (e) {
        alert(t('error.generic', { detail: String(e) }))
        return false
      }
    }
    : null
  mountChat(sync.doc, $('chat'), () => ({ ...shown(), authorId }), readOnly, moderate, { on: pad.chat, switchChat })
  mountAuthorship(quill, ytext, sync.provider.awareness, $('authorship') as HTMLInputElement, shown)

  // Status, and the end of access said in words.
  let last: Status = 'connecting'
  function renderStatus (): void {
    const el = $('status')
    el.dataset.status = last
    if (last === 'ended' && sync.ended) {
      const { code, reason } = sync.ended
      const key = (`pad.ended.${code}` in { 'pad.ended.4400': 1, 'pad.ended.4401': 1, 'pad.ended.4403': 1, 'pad.ended.4404': 1, 'pad.ended.4410': 1, 'pad.ended.4429': 1 }) ? `pad.ended.${code}` as Key : 'pad.ended.4403'
      el.textContent = ''
      showEnded(key, { reason })
      quill.enable(false)
      if (code === 4410) $('app').hidden = true
      return
    }
    el.textContent = t(`pad.status.${last === 'ended' ? 'connecting' : last}` as Key)
  }
  sync.onStatus((status) => { last = status; renderStatus() })
  window.addEventListener('beforeunload', (ev) => { if (sync.status() === 'saving') ev.preventDefault() })

  mountHistory(padId, token, !readOnly)
  // Ctrl-S, as on Etherpad: keep this version as a saved revision.
  function saveRevision (): void {
    if (readOnly) return
    const name = new Date().toLocaleString()
    api('POST', `/pads/${padId}/revisions`, { name }, token ?? undefined)
      .then(() => { $('status').textContent = t('history.saved') })
      .catch((e: unknown) => alert(t('error.generic', { detail: String(e) })))
  }

  // Share and export.
  // The share dialog's code loads on first use: it is not part of the pad page's first load.
  const shareDialog = $('share-dialog') as HTMLDialogElement
  const failed = (e: unknown): void => alert(t('error.generic', { detail: String(e) }))
  $('share').addEventListener('click', () => {
    import('./share').then(({ renderSharing }) => {
      renderSharing(shareDialog.querySelector('.body') as HTMLElement, { kind: 'pad', item: pad }, { onError: failed })
      shareDialog.showModal()
    }).catch(failed)
  })
  $('share-close').addEventListener('click', () => shareDialog.close())
  const download = (name: string, type: string, body: string): void => {
    const a = document.createElement('a')
    a.href = URL.createObjectURL(new Blob([body], { type }))
    a.download = name
    a.click()
    setTimeout(() => URL.revokeObjectURL(a.href), 1000)
  }
  const filename = (pad.title || padId).replace(/[^\p{L}\p{N} _-]/gu, '_')
  $('export-txt').addEventListener('click', () => download(`${filename}.txt`, 'text/plain', quill.getText()))
  // The server's exports (what is stored, escaped and sanitised), with this page's credentials.
  const serverExport = (fmt: string, type: string, suffix: string): void => {
    fetch(appUrl(`api/v1/pads/${padId}/export/${fmt}`), { headers: token ? { Authorization: `Bearer ${token}` } : {} })
      .then(async (r) => { if (!r.ok) throw new Error(`${r.status}`); download(`${filename}.${suffix}`, type, await r.text()) })
      .catch((e: unknown) => alert(t('error.generic', { detail: String(e) })))
  }
  $('export-html').addEventListener('click', () => serverExport('html', 'text/html', 'html'))
  $('export-md').addEventListener('click', () => serverExport('md', 'text/markdown', 'md'))
  // For tests and the curious: the live objects.
  Object.assign(window, { crdtpad: { quill, sync, ytext } })
}

void main()
