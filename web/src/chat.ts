// The pad's chat: a Y.Array named "chat" of small messages, synced and stored with the pad.
import * as Y from 'yjs'
import { safeColor } from './color'
import { t } from './i18n'

export interface ChatMessage { id: string, author_id: string, author: string, color: string, text: string, at: number }

const MAX_CHARS = 2000

/** A random message id; crypto.randomUUID exists only in secure contexts (not on http://LAN-IP). */
function messageId (): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** ``moderate``, for the pad's owners: delete one message by id, or all of them (null), on the server. */
export type Moderate = (messageId: string | null) => Promise<void>

/** Whether the pad's chat is on, and for its owners a switch (resolves true once the server agreed). */
export interface ChatSwitch { on: boolean, switchChat: ((on: boolean) => Promise<boolean>) | null }

export function mountChat (doc: Y.Doc, root: HTMLElement, me: () => { name: string, color: string, authorId: string }, readOnly: boolean, moderate: Moderate | null = null, state: ChatSwitch = { on: true, switchChat: null }): void {
  const chat = doc.getArray<ChatMessage>('chat')
  const list = root.querySelector('ol') as HTMLOListElement
  const form = root.querySelector('form') as HTMLFormElement
  const input = form.querySelector('input') as HTMLInputElement
  const off = document.createElement('p')
  off.id = 'chat-off'
  off.textContent = t('chat.off')
  root.insertBefore(off, form)
  const showState = (): void => {
    form.hidden = readOnly || !state.on
    off.hidden = state.on
  }
  showState()
  const { switchChat } = state
  if (switchChat) {
    const toggle = document.createElement('button')
    toggle.type = 'button'
    toggle.id = 'chat-toggle'
    const label = (): void => { toggle.textContent = t(state.on ? 'chat.turnOff' : 'chat.turnOn') }
    label()
    toggle.addEventListener('click', () => {
      void switchChat(!state.on).then((done) => {
        if (done) { state.on = !state.on; label(); showState() }
      })
    })
    root.append(toggle)
  }
  const render = (): void => {
    // Anything may arrive in a shared array: show only well-formed messages, as plain text.
    const messages = chat.toArray().filter((m): m is ChatMessage => typeof m === 'object' && m !== null)
    list.replaceChildren(...messages.slice(-200).map((m) => {
      const li = document.createElement('li')
      const who = document.createElement('strong')
      who.textContent = `${String(m.author).slice(0, 40)}: `
      who.style.color = safeColor(m.color)
      const text = document.createElement('span')
      text.textContent = String(m.text).slice(0, MAX_CHARS)
      li.append(who, text)
      li.title = new Date(Number(m.at)).toLocaleString()
      if (moderate && typeof m.id === 'string') {
        const remove = document.createElement('button')
        remove.type = 'button'
        remove.className = 'chat-delete'
        remove.textContent = '×'
        remove.setAttribute('aria-label', t('chat.delete'))
        remove.title = t('chat.delete')
        remove.dataset.messageId = m.id
        remove.addEventListener('click', () => { void moderate(m.id) })
        li.append(' ', remove)
      }
      return li
    }))
    list.scrollTop = list.scrollHeight
  }
  chat.observe(render)
  render()
  if (moderate) {
    const clear = document.createElement('button')
    clear.type = 'button'
    clear.id = 'chat-clear'
    clear.textContent = t('chat.clear')
    clear.addEventListener('click', () => { if (confirm(t('chat.confirmClear'))) void moderate(null) })
    root.append(clear)
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const text = input.value.trim().slice(0, MAX_CHARS)
    if (!text) return
    const { name, color, authorId } = me()
    chat.push([{ id: messageId(), author_id: authorId, author: (name || t('pad.you')).slice(0, 80), color: color.slice(0, 32), text, at: Date.now() }])
    input.value = ''
  })
}
