// What both example pages share: who and where, a token from the app's own backend, Quill.
import Quill from 'quill'
import 'quill/dist/quill.snow.css'
import { QuillBinding } from 'y-quill'

/** The pad and the user from the page's query (a real app knows its user from its own login). */
export function who () {
  const query = new URLSearchParams(location.search)
  const user = query.get('user') || `guest-${Math.random().toString(36).slice(2, 8)}`
  const pad = query.get('pad') || ''
  document.getElementById('pad').textContent = pad
  document.getElementById('user').textContent = user
  return { pad, user }
}

/** Ask the app's backend (backend.py) for a signed crdtpad token for this user and pad. */
export async function fetchToken (pad, user) {
  const r = await fetch(`token?pad=${encodeURIComponent(pad)}&user=${encodeURIComponent(user)}`)
  if (!r.ok) throw new Error(`the backend refused a token: ${r.status} ${await r.text()}`)
  return await r.json() // {"token": "cps_...", "server": "ws://host:port"}
}

/** A Quill editor bound to the pad's Y.Text "content" (the same text crdtpad's own editor uses). */
export function bindEditor (doc, awareness, user) {
  const quill = new Quill('#editor', { theme: 'snow' })
  awareness.setLocalStateField('user', { name: user, color: '#2a6f97' })
  return new QuillBinding(doc.getText('content'), quill, awareness)
}

export function showStatus (state, text) {
  const el = document.getElementById('status')
  el.dataset.state = state
  el.textContent = text
}
