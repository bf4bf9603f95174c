// The share dialog: the pad's address, and for its managers visibility, members and share links.
import { api, type Link, type LinkCreated, type Member, type Pad } from './api'
import { el } from './dom'
import { t, translate } from './i18n'


export function openShareDialog (pad: Pad, dialog: HTMLDialogElement, onError: (e: unknown) => void): void {
  const body = dialog.querySelector('.body') as HTMLElement
  body.replaceChildren()
  const address = el('input', '', { readonly: '', value: new URL(`p/${pad.id}`, document.baseURI).href, 'aria-label': t('share.address') })
  const copy = el('button', t('pad.copyLink'), { type: 'button' })
  copy.addEventListener('click', () => {
    void navigator.clipboard?.writeText(address.value).then(() => { copy.textContent = t('pad.copied') })
  })
  body.append(el('h3', t('share.address')), el('div', '', { class: 'row' }))
  ;(body.lastElementChild as HTMLElement).append(address, copy)
  if (pad.role !== 'owner') {
    body.append(el('p', t('share.onlyManagers'), { class: 'muted' }))
    dialog.showModal()
    return
  }

  // Visibility
  const vis = el('form', '', { id: 'share-visibility' })
  vis.append(el('h3', t('share.visibility')))
  for (const [value, key] of [['public', 'share.public'], ['private', 'share.private'], ['password', 'share.passwordVis']] as const) {
    const label = el('label', '', { class: 'row' })
    const radio = el('input', '', { type: 'radio', name: 'visibility', value })
    radio.checked = pad.visibility === value
    label.append(radio, el('span', t(key)))
    vis.append(label)
  }
  const password = el('input', '', { type: 'password', name: 'password', autocomplete: 'new-password', 'aria-label': t('dash.password'), placeholder: t('dash.password') })
  vis.append(password, el('button', t('share.save'), { type: 'submit' }))
  vis.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const visibility = (vis.querySelector('input[name=visibility]:checked') as HTMLInputElement).value
    const change: Record<string, string> = { visibility }
    if (visibility === 'password' && password.value) change.password = password.value
    api<Pad>('PATCH', `/pads/${pad.id}`, change).then((p) => { pad.visibility = p.visibility; password.value = '' }).catch(onError)
  })
  body.append(vis)

  // Share links
  const links = el('section', '', { id: 'share-links' })
  const linkList = el('ul')
  const newLink = el('form', '', { class: 'row' })
  const role = el('select', '', { name: 'role', 'aria-label': t('share.role') })
  role.append(el('option', t('share.editor'), { value: 'editor' }), el('option', t('share.viewer'), { value: 'viewer' }))
  const expires = el('select', '', { name: 'expires', 'aria-label': t('share.expires') })
  for (const [value, key] of [['', 'share.never'], ['86400', 'share.day'], ['604800', 'share.week'], ['2592000', 'share.month']] as const) {
    expires.append(el('option', t(key), { value }))
  }
  const created = el('input', '', { readonly: '', id: 'new-link-url', 'aria-label': t('share.newLink') })
  created.hidden = true
  newLink.append(role, expires, el('button', t('share.create'), { type: 'submit' }))
  const refreshLinks = (): void => {
    api<Link[]>('GET', `/pads/${pad.id}/links`).then((list) => {
      linkList.replaceChildren(...list.map((link) => {
        const li = el('li', `#${link.id} ${link.role === 'editor' ? t('share.editor') : t('share.viewer')}${link.expires_at ? ' → ' + new Date(link.expires_at).toLocaleString() : ''} `)
        const revoke = el('button', t('share.revoke'), { type: 'button', 'data-link': String(link.id) })
        revoke.addEventListener('click', () => { api('DELETE', `/pads/${pad.id}/links/${link.id}`).then(refreshLinks).catch(onError) })
        li.append(revoke)
        return li
      }))
    }).catch(onError)
  }
  newLink.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const payload: Record<string, unknown> = { role: role.value }
    if (expires.value) payload.expires_in = Number(expires.value)
    api<LinkCreated>('POST', `/pads/${pad.id}/links`, payload).then((link) => {
      created.value = link.url
      created.hidden = false
      created.select()
      refreshLinks()
    }).catch(onError)
  })
  links.append(el('h3', t('share.links')), newLink, created, linkList)
  body.append(links)

  // Members
  const members = el('section', '', { id: 'share-members' })
  const memberList = el('ul')
  const addMember = el('form', '', { class: 'row' })
  const username = el('input', '', { name: 'username', 'aria-label': t('auth.username'), placeholder: t('auth.username') })
  const memberRole = el('select', '', { name: 'role', 'aria-label': t('share.role') })
  for (const r of ['editor', 'viewer', 'owner'] as const) memberRole.append(el('option', t(`role.${r}`), { value: r }))
  addMember.append(username, memberRole, el('button', t('share.addMember'), { type: 'submit' }))
  const refreshMembers = (): void => {
    api<Member[]>('GET', `/pads/${pad.id}/members`).then((list) => {
      memberList.replaceChildren(...list.map((m) => {
        const li = el('li', `${m.username} (${t(`role.${m.role}`)}) `)
        const remove = el('button', t('share.remove'), { type: 'button' })
        remove.addEventListener('click', () => {
          api('DELETE', `/pads/${pad.id}/members/${encodeURIComponent(m.username)}`).then(refreshMembers).catch(onError)
        })
        li.append(remove)
        return li
      }))
    }).catch(onError)
  }
  addMember.addEventListener('submit', (ev) => {
    ev.preventDefault()
    api('PUT', `/pads/${pad.id}/members/${encodeURIComponent(username.value.trim())}`, { role: memberRole.value })
      .then(() => { username.value = ''; refreshMembers() }).catch(onError)
  })
  members.append(el('h3', t('share.members')), addMember, memberList)
  body.append(members)
  refreshLinks()
  refreshMembers()
  translate(dialog)
  dialog.showModal()
}
