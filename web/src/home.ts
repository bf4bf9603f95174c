import './register-sw'
import './style.css'
import { ApiError, api, currentUser, login, register } from './api'
import { renderHeader } from './header'
import { t, translate } from './i18n'

function padIdFrom (text: string): string {
  const trimmed = text.trim()
  const match = /\/p\/([A-Za-z0-9_-]+)/.exec(trimmed)
  return match ? match[1] : trimmed.replace(/[^A-Za-z0-9_-]/g, '')
}

async function main (): Promise<void> {
  translate()
  await renderHeader()
  const user = await currentUser()
  const error = document.getElementById('error') as HTMLElement
  const show = (text: string): void => { error.textContent = text; error.hidden = false }
  document.getElementById('new-pad')?.addEventListener('click', () => {
    api<{ id: string }>('POST', '/pads', { title: '', visibility: 'public' })
      .then((pad) => { location.href = `p/${pad.id}` })
      .catch((e: unknown) => show(e instanceof ApiError && e.status === 401 ? t('home.anonymousOff') : String(e)))
  })
  document.getElementById('open-form')?.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const id = padIdFrom((document.getElementById('open-id') as HTMLInputElement).value)
    if (id) location.href = `p/${id}`
  })
  const auth = document.getElementById('auth') as HTMLElement
  auth.hidden = user !== null
  const form = document.getElementById('auth-form') as HTMLFormElement
  const value = (id: string): string => (document.getElementById(id) as HTMLInputElement).value
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const mode = (ev.submitter as HTMLButtonElement | null)?.value ?? 'login'
    const go = async (): Promise<void> => {
      if (mode === 'register') await register(value('username'), value('password'), value('invite'))
      await login(value('username'), value('password'))
      location.href = 'dashboard'
    }
    go().catch((e: unknown) => show(e instanceof ApiError && e.status === 401 ? t('auth.failed') : e instanceof ApiError ? e.detail : String(e)))
  })
}

void main()
