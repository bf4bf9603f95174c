// Tables: one per scenario, a column per server, ratios crdtpad/peer, PASS/MISS against targets.
import { SERVER_INFO } from './servers.mjs'

export function fmt (v, digits) {
  if (v === null || v === undefined) return 'n/a'
  if (typeof v === 'string') return v
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  if (!Number.isFinite(v)) return 'n/a'
  if (digits !== undefined) return v.toFixed(digits)
  const a = Math.abs(v)
  if (a >= 1000) return Math.round(v).toLocaleString('en-US')
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  if (a === 0) return '0'
  return v.toFixed(2)
}

const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : NaN)
const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a')

/**
 * Build the rows of one scenario's table.
 * @param scenario {metrics: [{key, label, digits?, target?: {max, vs: 'hocuspocus'}}]}
 * @param results {crdtpad: {...}|{error}, hocuspocus: ..., yws: ...}
 */
export function scenarioRows (scenario, results, servers) {
  const rows = []
  const verdicts = []
  for (const m of scenario.metrics) {
    const vals = servers.map((k) => (results[k] && !results[k].error ? results[k][m.key] : undefined))
    const get = (k) => (results[k] && !results[k].error ? results[k][m.key] : undefined)
    const rH = ratio(get('crdtpad'), get('hocuspocus'))
    const rY = ratio(get('crdtpad'), get('yws'))
    let verdict = ''
    if (m.target) {
      const r = m.target.vs === 'yws' ? rY : rH
      // Judged on the ratio as printed (2 decimals), so a table never shows "1.00× MISS".
      verdict = Number.isFinite(r) ? (Math.round(r * 100) / 100 <= m.target.max ? 'PASS' : 'MISS') : 'n/a'
      verdicts.push({ scenario: scenario.id, metric: m.label, ratio: r, max: m.target.max, verdict })
    }
    const numeric = typeof vals.find((v) => v !== undefined) === 'number'
    rows.push({
      label: m.label,
      values: vals.map((v) => fmt(v, m.digits)),
      rH: numeric && servers.includes('crdtpad') ? fmtRatio(rH) : '',
      rY: numeric && servers.includes('crdtpad') ? fmtRatio(rY) : '',
      target: m.target ? `≤ ${m.target.max.toFixed(1)}× ${m.target.vs === 'yws' ? 'y-ws-server' : 'Hocuspocus'}` : '',
      verdict
    })
  }
  return { rows, verdicts }
}

const HEAD = (servers) => ['figure', ...servers.map((k) => SERVER_INFO[k].label), 'crdtpad/Hocuspocus', 'crdtpad/y-ws-server', 'target', '']

function cells (row) {
  return [row.label, ...row.values, row.rH, row.rY, row.target, row.verdict]
}

export function textTable (rows, servers) {
  const all = [HEAD(servers), ...rows.map(cells)]
  const widths = all[0].map((_, i) => Math.max(...all.map((r) => String(r[i]).length)))
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ').trimEnd()
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n')
}

export function markdownTable (rows, servers) {
  const head = HEAD(servers)
  const esc = (s) => String(s).replace(/\|/g, '\\|')
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`)
  ].join('\n')
}
