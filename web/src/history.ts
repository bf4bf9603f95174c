// The timeslider: step through the pad's revisions (a preview of each, as the server exports it),
// restore one as a new change, or save the current version under a name.
import { api, appUrl } from './api'
import { byId } from './dom'
import { t } from './i18n'

interface Revision { rev: number, seq: number, name: string | null, created_at: number, size: number }

export function mountHistory (padId: string, token: string | null, canEdit: boolean): void {
  const $ = byId
  const dialog = $('history-dialog') as HTMLDialogElement
  const slider = $('history-slider') as HTMLInputElement
  const preview = $('history-preview') as HTMLIFrameElement
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {}
  let revisions: Revision[] = []
  $('history-restore').hidden = !canEdit
  $('history-save').hidden = !canEdit
  const show = async (): Promise<void> => {
    const r = revisions[Number(slider.value) - 1]
    if (!r) return
    $('history-label').textContent = (r.name ? `★ ${r.name} — ` : '') + t('history.at', { rev: r.rev, date: new Date(r.created_at).toLocaleString() })
    const res = await fetch(appUrl(`api/v1/pads/${padId}/revisions/${r.rev}/export/html`), { headers: auth })
    preview.srcdoc = res.ok ? await res.text() : ''
  }
  let loads = 0 // only the newest load's answer counts: two loads may answer out of order
  const load = async (): Promise<void> => {
    const mine = ++loads
    const fetched = await api<Revision[]>('GET', `/pads/${padId}/revisions`, undefined, token ?? undefined)
    if (mine !== loads) return
    revisions = fetched
    $('history-none').hidden = revisions.length > 0
    $('history-body').hidden = revisions.length === 0 && !canEdit
    slider.max = String(Math.max(1, revisions.length))
    slider.value = slider.max
    slider.disabled = revisions.length < 2
    await show()
  }
  slider.addEventListener('input', () => { void show() })
  $('history').addEventListener('click', () => { dialog.showModal(); void load() })
  $('history-close').addEventListener('click', () => dialog.close())
  $('history-restore').addEventListener('click', () => {
    const r = revisions[Number(slider.value) - 1]
    if (!r) return
    api('POST', `/pads/${padId}/revisions/${r.rev}/restore`, undefined, token ?? undefined)
      .then(async () => { $('history-label').textContent = t('history.restored'); await load() })
      .catch((e: unknown) => alert(t('error.generic', { detail: String(e) })))
  })
  $('history-save').addEventListener('click', () => {
    const name = prompt(t('history.name'))
    if (!name) return
    api('POST', `/pads/${padId}/revisions`, { name }, token ?? undefined).then(load)
      .catch((e: unknown) => alert(t('error.generic', { detail: String(e) })))
  })
}
