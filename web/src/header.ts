// The bar at the top of every page: home, my pads, admin, who is logged in, language.
import { currentUser, logout } from './api'
import { switchLang, t, translate } from './i18n'

export async function renderHeader (onLangChange: () => void = () => {}): Promise<void> {
  const bar = document.getElementById('header')
  if (!bar) return
  const user = await currentUser().catch(() => null)
  bar.innerHTML = `
    <nav aria-label="main">
      <a href="./" class="brand" data-i18n="app.name"></a>
      ${user ? '<a href="dashboard" data-i18n="nav.dashboard"></a>' : ''}
      ${user?.is_admin === true ? '<a href="admin" data-i18n="nav.admin"></a>' : ''}
      <span class="spacer"></span>
      <span id="whoami"></span>
      ${user ? '<button type="button" id="logout" data-i18n="auth.logout"></button>' : '<a href="./#login" data-i18n="auth.login"></a>'}
      <button type="button" id="lang" data-i18n="lang.switch"></button>
    </nav>`
  translate(bar)
  const who = document.getElementById('whoami')
  if (who && user) who.textContent = t('auth.loggedInAs', { name: user.username })
  document.getElementById('lang')?.addEventListener('click', () => switchLang(() => {
    if (who && user) who.textContent = t('auth.loggedInAs', { name: user.username })
    onLangChange()
  }))
  document.getElementById('logout')?.addEventListener('click', () => {
    void logout().then(() => { location.href = './' })
  })
}

/** A short message in the page's alert region. */
export function notify (text: string): void {
  const box = document.getElementById('alert')
  if (box) {
    box.textContent = text
    box.hidden = false
  }
}
