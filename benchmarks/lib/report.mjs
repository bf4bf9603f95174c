// Tables: one per scenario, a column per server, ratios crdtpad/peer (and crdtpad-hp/Hocuspocus),
// PASS/MISS against targets.
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

// Ratio columns [server, peer], shown when both ran. crdtpad-hp is compared with Hocuspocus
// only: same provider, same dialect.
const RATIOS = [['crdtpad', 'hocuspocus'], ['crdtpad', 'yws'], ['crdtpad-hp', 'hocuspocus']]
// Servers judged against the targets (each on its ratio to the target's `vs`).
const JUDGED = ['crdtpad', 'crdtpad-hp']

const short = (k) => SERVER_INFO[k].short
const ratioColumns = (servers) => RATIOS.filter(([a, b]) => servers.includes(a) && servers.includes(b))
const judged = (servers) => JUDGED.filter((k) => servers.includes(k))

/**
 * Build the rows of one scenario's table.
 * @param scenario {metrics: [{key, label, digits?, target?: {max, vs: 'hocuspocus'}}]}
 * @param results {crdtpad: {...}|{error}, hocuspocus: ..., ...}
 * @returns {rows, verdicts}: one verdict per target and judged server that ran
 */
export function scenarioRows (scenario, results, servers) {
  const rows = []
  const verdicts = []
  const get = (k, key) => (results[k] && !results[k].error ? results[k][key] : undefined)
  for (const m of scenario.metrics) {
    const vals = servers.map((k) => get(k, m.key))
    const numeric = typeof vals.find((v) => v !== undefined) === 'number'
    const rowVerdicts = []
    if (m.target) {
      for (const k of judged(servers)) {
        const r = ratio(get(k, m.key), get(m.target.vs, m.key))
        // Judged on the ratio as printed (2 decimals), so a table never shows "1.00× MISS".
        const verdict = Number.isFinite(r) ? (Math.round(r * 100) / 100 <= m.target.max ? 'PASS' : 'MISS') : 'n/a'
        verdicts.push({ scenario: scenario.id, server: short(k), vs: short(m.target.vs), metric: m.label, ratio: r, max: m.target.max, verdict })
        rowVerdicts.push(verdict)
      }
    }
    rows.push({
      label: m.label,
      values: vals.map((v) => fmt(v, m.digits)),
      ratios: ratioColumns(servers).map(([a, b]) => (numeric ? fmtRatio(ratio(get(a, m.key), get(b, m.key))) : '')),
      target: m.target ? `≤ ${m.target.max.toFixed(1)}× ${short(m.target.vs)}` : '',
      verdicts: m.target ? rowVerdicts : judged(servers).map(() => '')
    })
  }
  return { rows, verdicts }
}

// One verdict column per judged server; headed only when there are two.
const HEAD = (servers) => {
  const j = judged(servers)
  return [
    'figure',
    ...servers.map((k) => SERVER_INFO[k].label),
    ...ratioColumns(servers).map(([a, b]) => `${short(a)}/${short(b)}`),
    'target',
    ...(j.length > 1 ? j.map((k) => `${short(k)} verdict`) : j.map(() => ''))
  ]
}

function cells (row) {
  return [row.label, ...row.values, ...row.ratios, row.target, ...row.verdicts]
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
