#!/usr/bin/env node
// crdtpad benchmark suite: runs every scenario against crdtpad, Hocuspocus and
// y-websocket-server side by side (and, when asked, crdtpad over its Hocuspocus endpoint),
// prints a table per scenario and writes results-latest.md.
// Usage: node benchmarks/bench.mjs [--quick] [options]   (see --help)
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ServerProcess, SERVER_KINDS, DEFAULT_SERVERS, SERVER_INFO, killAllServers, crdtpadPython, REPO_DIR } from './lib/servers.mjs'
import { runFanout } from './lib/fanout.mjs'
import { runIdlePads, runStoredPads, runColdLoad, runBytes } from './lib/pads.mjs'
import { scenarioRows, textTable, markdownTable } from './lib/report.mjs'
import { now, sleep } from './lib/util.mjs'

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url))

// ---- options ----

const HELP = `Usage: bash benchmarks/run.sh [--quick] [options]

  --quick                 short windows and smaller data sets (about 4 minutes)
  --servers=a,b           any of: ${SERVER_KINDS.join(',')} (default: ${DEFAULT_SERVERS.join(',')});
                          crdtpad-hp = the crdtpad process, its clients on /hocuspocus with the
                          Hocuspocus provider (e.g. --servers=crdtpad,crdtpad-hp,hocuspocus)
  --scenarios=a,b         subset of: fanout-2,fanout-20,fanout-100,fanout-250,bytes,idle,stored,cold
                          (or 'fanout' for all four fan-out loads)
  --warmup=S --window=S   fan-out warm-up and measurement window, seconds
  --rate=N                chars per second per typist (default 2)
  --workers=N             load-generator worker threads for fan-out (default: 1, 2 above 300 clients)
  --bytes-window=S        typing time of the bytes-per-keystroke scenario (keep under ~13 s)
  --idle-pads=N           pads loaded for the memory-per-idle-pad scenario
  --stored-pads=N         pads written for the stored-pads scenario
  --stored-budget=S       stop writing stored pads after this many seconds (the count reached is reported)
  --history-kb=N          size of the typing history of the cold-load scenario
  --cold-repeats=N        cold loads (each after its own restart); the median is reported
  --samples=N             connect+sync samples (cold and warm)
  --out=FILE              markdown results (default benchmarks/results-latest.md, or
                          benchmarks/out/results-partial.md when --servers/--scenarios pick a subset)
  --json=FILE             raw results as JSON (default benchmarks/out/results-latest.json)`

const PRESETS = {
  full: { warmup: 4, window: 15, rate: 2, bytesWindow: 10, idlePads: 1000, storedPads: 50_000, storedBudget: 200, historyKb: 200, coldRepeats: 3, samples: 30 },
  quick: { warmup: 1.5, window: 5, rate: 2, bytesWindow: 5, idlePads: 500, storedPads: 5000, storedBudget: 40, historyKb: 30, coldRepeats: 1, samples: 10 }
}

const KNOWN_OPTIONS = [...Object.keys(PRESETS.full), 'servers', 'scenarios', 'workers', 'out', 'json']

function parseArgs (argv) {
  const opts = { quick: false }
  for (const a of argv) {
    if (a === '--help' || a === '-h') { console.log(HELP); process.exit(0) }
    if (a === '--quick') { opts.quick = true; continue }
    const m = /^--([a-z-]+)=(.*)$/.exec(a)
    if (!m) { console.error(`unknown argument ${a}\n\n${HELP}`); process.exit(2) }
    const key = m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase())
    if (!KNOWN_OPTIONS.includes(key)) { console.error(`unknown option --${m[1]}\n\n${HELP}`); process.exit(2) }
    opts[key] = m[2]
  }
  const preset = { ...(opts.quick ? PRESETS.quick : PRESETS.full) }
  const num = (k) => {
    if (opts[k] === undefined) return preset[k]
    const v = Number(opts[k])
    if (!Number.isFinite(v) || v <= 0) { console.error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: expected a positive number, got ${opts[k]}`); process.exit(2) }
    return v
  }
  const servers = opts.servers ? opts.servers.split(',') : DEFAULT_SERVERS
  for (const s of servers) if (!SERVER_KINDS.includes(s)) { console.error(`unknown server ${s}`); process.exit(2) }
  let scenarios = opts.scenarios ? opts.scenarios.split(',') : null
  if (scenarios) scenarios = scenarios.flatMap((s) => (s === 'fanout' ? ['fanout-2', 'fanout-20', 'fanout-100', 'fanout-250'] : [s]))
  const partial = !!(opts.servers || opts.scenarios)
  // Only the default full run (no options at all) rewrites the results section of README.md.
  const updateReadme = argv.length === 0
  return {
    quick: opts.quick,
    updateReadme,
    servers: SERVER_KINDS.filter((s) => servers.includes(s)),
    scenarios,
    warmupMs: num('warmup') * 1000,
    windowMs: num('window') * 1000,
    rateHz: num('rate'),
    workers: opts.workers ? Number(opts.workers) : null,
    bytesWindowMs: num('bytesWindow') * 1000,
    idlePads: Math.round(num('idlePads')),
    storedPads: Math.round(num('storedPads')),
    storedBudgetMs: num('storedBudget') * 1000,
    historyBytes: Math.round(num('historyKb') * 1024),
    coldRepeats: Math.round(num('coldRepeats')),
    samples: Math.round(num('samples')),
    // Only a run of every server and scenario replaces results-latest.md.
    out: opts.out ?? (partial ? path.join(BENCH_DIR, 'out', 'results-partial.md') : path.join(BENCH_DIR, 'results-latest.md')),
    json: opts.json ?? path.join(BENCH_DIR, 'out', partial ? 'results-partial.json' : 'results-latest.json')
  }
}

// ---- scenarios ----

const fanoutMetrics = [
  { key: 'p50', label: 'fan-out p50 (ms)' },
  { key: 'p99', label: 'fan-out p99 (ms)', target: { max: 1.0, vs: 'hocuspocus' } },
  { key: 'max', label: 'fan-out max (ms)' },
  { key: 'echoP50', label: 'echo to sender p50 (ms)' },
  { key: 'edits', label: 'edits in window' },
  { key: 'incomplete', label: 'edits not delivered to all' },
  { key: 'deliveriesPerS', label: 'deliveries/s' },
  { key: 'serverCpuPct', label: 'server CPU (% of a core)' },
  { key: 'serverCpuMsPer1k', label: 'server CPU ms per 1,000 deliveries', target: { max: 1.0, vs: 'hocuspocus' } },
  { key: 'loadgenCpuPct', label: 'load generator CPU (% of a core)' },
  { key: 'loadgenBusyPct', label: 'load generator event loop busy (%)' },
  { key: 'connectP50', label: 'connect+sync p50, empty pad (ms)' },
  { key: 'serverRssMB', label: 'server RSS (MB)' },
  { key: 'unexpectedCloses', label: 'unexpected closes' },
  { key: 'divergedPads', label: 'pads whose full clients diverged' }
]

function fanoutScenario (id, title, shape) {
  return {
    id,
    title,
    describe: (o) => `${shape.pads} pad(s) × (${shape.typists} typists${shape.readers ? ` + ${shape.readers} light readers` : ''}), ` +
      `${o.rateHz} chars/s per typist (±50 % jitter), ${o.warmupMs / 1000} s warm-up, ${o.windowMs / 1000} s window`,
    metrics: fanoutMetrics,
    run: async (server, o) => {
      const clients = shape.pads * (shape.typists + shape.readers)
      const r = await runFanout(server, {
        ...shape,
        rateHz: o.rateHz,
        warmupMs: o.warmupMs,
        windowMs: o.windowMs,
        workers: o.workers ?? (clients > 300 ? 2 : 1)
      })
      const busy = r.loadgenBusy.filter(Number.isFinite)
      r.loadgenBusyPct = busy.length ? 100 * Math.max(...busy) : NaN
      return r
    }
  }
}

const SCENARIOS = [
  fanoutScenario('fanout-2', 'Fan-out, 2 typists per pad', { pads: 10, typists: 2, readers: 0 }),
  fanoutScenario('fanout-20', 'Fan-out, 20 typists per pad', { pads: 1, typists: 20, readers: 0 }),
  fanoutScenario('fanout-100', 'Fan-out, 100 clients per pad (20 typing)', { pads: 1, typists: 20, readers: 80 }),
  fanoutScenario('fanout-250', 'Fan-out, 250 clients per pad (20 typing)', { pads: 1, typists: 20, readers: 230 }),
  {
    id: 'bytes',
    title: 'Bytes on the wire per keystroke',
    describe: (o) => `1 sender + 2 receivers (full clients), ASCII typing at ${o.rateHz} chars/s for ${o.bytesWindowMs / 1000} s; TCP payload bytes per client socket`,
    metrics: [
      { key: 'keystrokes', label: 'keystrokes' },
      { key: 'senderUp', label: 'sender up (B/keystroke)' },
      { key: 'senderDown', label: 'sender down (B/keystroke)' },
      { key: 'senderFramesDown', label: 'sender frames down per keystroke' },
      { key: 'receiverDown', label: 'each receiver down (B/keystroke)' },
      { key: 'receiverFramesDown', label: 'receiver frames down per keystroke' }
    ],
    run: (server, o) => runBytes(server, { receivers: 2, rateHz: o.rateHz, windowMs: o.bytesWindowMs })
  },
  {
    id: 'idle',
    title: 'Memory per loaded idle pad',
    describe: (o) => `${o.idlePads} pads, one light client each, ~100 chars each (one update); RSS delta of the server process tree / pads`,
    metrics: [
      { key: 'kbPerPad', label: 'KB per loaded idle pad', target: { max: 0.5, vs: 'hocuspocus' } },
      { key: 'pads', label: 'pads loaded' },
      { key: 'rssBaseMB', label: 'RSS before (MB)' },
      { key: 'rssLoadedMB', label: 'RSS with pads loaded (MB)' },
      { key: 'openMs', label: 'time to open and write them (ms)' }
    ],
    run: (server, o) => runIdlePads(server, { count: o.idlePads })
  },
  {
    id: 'stored',
    title: 'Stored, unloaded pads; connect+sync',
    describe: (o) => `write up to ${o.storedPads.toLocaleString('en-US')} pads through the server (connect, write ~100 chars, wait for the echo, disconnect; 48 in parallel; ` +
      `stop after ${o.storedBudgetMs / 1000} s), restart, then RSS idle and with one pad open; connect+sync = socket open until the content arrived (${o.samples} samples each)`,
    metrics: [
      { key: 'created', label: 'pads stored' },
      { key: 'padsPerS', label: 'pads written per second (echoed)' },
      { key: 'durablePadsPerS', label: 'pads per second incl. flush at SIGTERM' },
      { key: 'writeServerCpuPct', label: 'server CPU while writing (%)' },
      { key: 'writeLoadgenCpuPct', label: 'load generator CPU while writing (%)' },
      { key: 'stopMs', label: 'SIGTERM until exit (ms)' },
      { key: 'dataMB', label: 'data dir (MB)' },
      { key: 'restartMs', label: 'restart until ready (ms)' },
      { key: 'rssIdleMB', label: 'RSS after restart (MB)' },
      { key: 'rssOneOpenMB', label: 'RSS with one pad open (MB)' },
      { key: 'coldMissing', label: 'sampled pads whose content never came' },
      { key: 'coldConnectP50', label: 'connect+sync, unloaded pad p50 (ms)' },
      { key: 'coldConnectP99', label: 'connect+sync, unloaded pad p99 (ms)' },
      { key: 'warmConnectP50', label: 'connect+sync, loaded pad p50 (ms)' },
      { key: 'warmConnectP99', label: 'connect+sync, loaded pad p99 (ms)' }
    ],
    run: (server, o) => runStoredPads(server, { count: o.storedPads, budgetMs: o.storedBudgetMs, samples: o.samples })
  },
  {
    id: 'cold',
    title: 'Cold load of a long typing history',
    describe: (o) => `~${Math.round(o.historyBytes / 1024)} KB of text typed as small edits (1–12 chars, some backspaces and cursor jumps) by 12 authors at ≤ 90 msgs/s each, ` +
      `restart, then a fresh full client until it holds the whole text (median of ${o.coldRepeats}, each after its own restart)`,
    metrics: [
      { key: 'coldMs', label: 'cold load to full content (ms)', target: { max: 0.5, vs: 'hocuspocus' } },
      { key: 'coldKB', label: 'WebSocket frames received for it (KB)', target: { max: 1.0, vs: 'hocuspocus' } },
      { key: 'coldSocketKB', label: 'same, incl. the HTTP upgrade (KB)' },
      { key: 'warmLoadMs', label: 'load while still in memory (ms)' },
      { key: 'chars', label: 'text length (chars)' },
      { key: 'updates', label: 'updates in the history' },
      { key: 'historyKB', label: 'update bytes sent (KB)' },
      { key: 'updatesPerS', label: 'updates written per second' },
      { key: 'dataMB', label: 'data dir (MB)' }
    ],
    run: (server, o) => runColdLoad(server, { targetBytes: o.historyBytes, repeats: o.coldRepeats })
  }
]

// ---- environment ----

function tryExec (cmd, args, opts = {}) {
  try { return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'], ...opts }).trim() } catch { return null }
}

function environment () {
  const pkg = (name) => {
    try { return JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'node_modules', name, 'package.json'), 'utf8')).version } catch { return '?' }
  }
  return {
    date: new Date().toISOString(),
    host: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`,
    node: process.version,
    python: tryExec(crdtpadPython(), ['--version']) ?? 'not found',
    crdtpadCommit: tryExec('git', ['-C', REPO_DIR, 'describe', '--always', '--dirty']) ?? 'unknown',
    versions: {
      '@hocuspocus/server': pkg('@hocuspocus/server'),
      '@hocuspocus/extension-sqlite': pkg('@hocuspocus/extension-sqlite'),
      '@hocuspocus/provider': pkg('@hocuspocus/provider'),
      '@y/websocket-server': pkg('@y/websocket-server'),
      'y-leveldb': pkg('y-leveldb'),
      'y-websocket': pkg('y-websocket'),
      yjs: pkg('yjs'),
      'better-sqlite3': pkg('better-sqlite3')
    }
  }
}

// ---- run ----

const CRASH_RE = /Traceback|Exception|ERROR|Error:|FATAL|panic|Segmentation|Killed/i
// uvicorn logs ordinary events (start-up, each accepted socket) at INFO under the logger "uvicorn.error".
const NOT_CRASH_RE = /\b(?:DEBUG|INFO) uvicorn\.error: /

async function runOne (scenario, kind, o, logDir) {
  const server = await ServerProcess.fresh(kind, logDir)
  const t0 = now()
  let result
  try {
    await server.start()
    result = await scenario.run(server, o)
    if (!server.alive) result.serverDied = JSON.stringify(server.exitInfo)
  } catch (err) {
    result = { error: String(err?.message ?? err).split('\n')[0] }
    if (server.child && !server.alive) result.serverDied = JSON.stringify(server.exitInfo)
  } finally {
    const stop = await server.stop({ timeoutMs: 60_000 }).catch((e) => ({ error: String(e) }))
    if (stop?.forced) (result ??= {}).stopForced = true
    result.logProblems = server.logMatches(CRASH_RE, 8, NOT_CRASH_RE)
    result.log = server.logPath
    result.seconds = (now() - t0) / 1000
    server.removeData()
  }
  return result
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const env = environment()
  const stamp = env.date.replace(/[:.]/g, '-')
  const logDir = path.join(BENCH_DIR, 'out', `logs-${stamp}`)
  fs.mkdirSync(logDir, { recursive: true })
  const scenarios = SCENARIOS.filter((s) => !o.scenarios || o.scenarios.includes(s.id))
  if (o.scenarios) {
    for (const id of o.scenarios) if (!SCENARIOS.some((s) => s.id === id)) { console.error(`unknown scenario ${id}`); process.exit(2) }
  }

  console.log(`crdtpad benchmarks (${o.quick ? 'quick' : 'full'}) — ${env.date}`)
  console.log(`${env.host}; node ${env.node}; ${env.python}; crdtpad ${env.crdtpadCommit}`)
  console.log(`servers: ${o.servers.map((k) => SERVER_INFO[k].label).join(', ')}; logs in ${path.relative(process.cwd(), logDir)}\n`)

  const t0 = now()
  const all = []
  for (const sc of scenarios) {
    const results = {}
    for (const kind of o.servers) {
      process.stdout.write(`  ${sc.id} on ${SERVER_INFO[kind].label} ... `)
      results[kind] = await runOne(sc, kind, o, logDir)
      const r = results[kind]
      console.log(r.error ? `ERROR: ${r.error}` : `done in ${r.seconds.toFixed(0)} s`)
      await sleep(500)
    }
    const { rows, verdicts } = scenarioRows(sc, results, o.servers)
    const notes = scenarioNotes(results)
    console.log(`\n== ${sc.title} — ${sc.describe(o)}\n${textTable(rows, o.servers)}`)
    if (notes.length) console.log(notes.map((n) => `  note: ${n}`).join('\n'))
    console.log()
    all.push({ scenario: sc, results, rows, verdicts, notes })
  }
  const totalS = (now() - t0) / 1000

  const verdicts = all.flatMap((a) => a.verdicts)
  console.log('== Targets (ratios to Hocuspocus in this run)')
  for (const v of verdicts) {
    console.log(`  ${v.verdict.padEnd(4)}  ${v.scenario.padEnd(10)}  ${v.server.padEnd(10)}  ${v.metric}: ${Number.isFinite(v.ratio) ? v.ratio.toFixed(2) : 'n/a'}× (target ≤ ${v.max.toFixed(1)}×)`)
  }
  console.log(`\ntotal ${Math.round(totalS)} s`)

  fs.writeFileSync(o.out, markdown(all, verdicts, o, env, totalS))
  if (o.updateReadme) {
    updateReadme(readmeSummary(all, o, env, totalS))
    console.log('updated the latest results in benchmarks/README.md')
  }
  fs.mkdirSync(path.dirname(o.json), { recursive: true })
  fs.writeFileSync(o.json, JSON.stringify({ env, options: o, totalS, scenarios: all.map((a) => ({ id: a.scenario.id, results: a.results })) }, null, 2))
  console.log(`wrote ${path.relative(process.cwd(), o.out)} and ${path.relative(process.cwd(), o.json)}`)
}

function scenarioNotes (results) {
  const notes = []
  for (const [kind, r] of Object.entries(results)) {
    const label = SERVER_INFO[kind].label
    if (r.error) notes.push(`${label}: ERROR ${r.error}`)
    if (r.serverDied) notes.push(`${label}: server exited during the scenario ${r.serverDied}`)
    if (r.stopForced) notes.push(`${label}: did not exit within 60 s of SIGTERM; killed`)
    if (r.errors?.length) notes.push(`${label}: client errors: ${r.errors.slice(0, 3).join('; ')}`)
    if (r.incomplete) notes.push(`${label}: ${r.incomplete} of ${r.edits} edits never reached every client`)
    if (r.anomalies) notes.push(`${label}: ${r.anomalies} receipts before their send time (marker false positives)`)
    if (r.stoppedEarly) notes.push(`${label}: time budget reached: ${r.created ?? r.chars} written instead of ${r.requested ?? r.targetBytes}`)
    if (r.failed) notes.push(`${label}: ${r.failed} pads failed`)
    if (r.logProblems?.length) notes.push(`${label}: server log (${path.basename(r.log)}): ${r.logProblems.slice(0, 3).map((l) => l.trim().slice(0, 160)).join(' | ')}`)
  }
  return notes
}

function markdown (all, verdicts, o, env, totalS) {
  const lines = []
  lines.push('# crdtpad benchmark results (latest run)', '')
  lines.push(`- date: ${env.date} (${o.quick ? '`--quick`' : 'full run'}, ${Math.round(totalS)} s)`)
  lines.push(`- machine: ${env.host} — 2 shared cores, noisy: read the ratios, not the absolute times`)
  lines.push(`- node ${env.node}; ${env.python}; crdtpad ${env.crdtpadCommit}`)
  lines.push(`- peers: ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`)
  lines.push('- Hocuspocus persists to SQLite (extension-sqlite); y-websocket-server persists to LevelDB (y-leveldb, its YPERSISTENCE option); crdtpad to SQLite')
  if (o.servers.includes('crdtpad-hp')) {
    lines.push(`- ${SERVER_INFO['crdtpad-hp'].label} (crdtpad-hp): the same crdtpad process, its clients speaking the Hocuspocus dialect on \`/hocuspocus\` (light clients, and @hocuspocus/provider as the full client)`)
  }
  lines.push('')
  lines.push('## Targets (ratios to Hocuspocus, same run)', '')
  lines.push('| scenario | server | figure | ratio | target | |', '|---|---|---|---:|---:|---|')
  for (const v of verdicts) lines.push(`| ${v.scenario} | ${v.server} | ${v.metric} | ${Number.isFinite(v.ratio) ? v.ratio.toFixed(2) + '×' : 'n/a'} | ≤ ${v.max.toFixed(1)}× ${v.vs} | ${v.verdict} |`)
  lines.push('')
  for (const a of all) {
    lines.push(`## ${a.scenario.title} (\`${a.scenario.id}\`)`, '', a.scenario.describe(o), '', markdownTable(a.rows, o.servers), '')
    for (const n of a.notes) lines.push(`- ${n.replace(/\|/g, '\\|')}`)
    if (a.notes.length) lines.push('')
  }
  return lines.join('\n')
}

// The README's "Latest results": headline figures of the last complete full run.
const SUMMARY = [
  ['fanout-2', 'p99', 'fan-out p99, 2 typists/pad (ms)'],
  ['fanout-20', 'p99', 'fan-out p99, 20 typists (ms)'],
  ['fanout-100', 'p99', 'fan-out p99, 100 clients / 20 typing (ms)'],
  ['fanout-250', 'p50', 'fan-out p50, 250 clients / 20 typing (ms)'],
  ['fanout-250', 'p99', 'fan-out p99, 250 clients / 20 typing (ms)'],
  ['fanout-20', 'serverCpuMsPer1k', 'server CPU ms / 1,000 deliveries, 20 typists'],
  ['fanout-250', 'serverCpuMsPer1k', 'server CPU ms / 1,000 deliveries, 250 clients'],
  ['fanout-250', 'loadgenCpuPct', 'load generator CPU, 250 clients (%)'],
  ['bytes', 'senderUp', 'bytes per keystroke, sender up'],
  ['bytes', 'senderDown', 'bytes per keystroke, sender down'],
  ['bytes', 'receiverDown', 'bytes per keystroke, each receiver'],
  ['idle', 'kbPerPad', 'KB per loaded idle pad'],
  ['stored', 'created', 'stored pads'],
  ['stored', 'rssOneOpenMB', 'RSS with the stored pads, one open (MB)'],
  ['stored', 'coldConnectP50', 'connect+sync, unloaded pad p50 (ms)'],
  ['stored', 'warmConnectP50', 'connect+sync, loaded pad p50 (ms)'],
  ['cold', 'coldMs', 'cold load of the typing history (ms)'],
  ['cold', 'coldKB', 'cold load, WebSocket KB received']
]

function readmeSummary (all, o, env, totalS) {
  const rows = []
  for (const [id, key, label] of SUMMARY) {
    const a = all.find((x) => x.scenario.id === id)
    const m = a?.scenario.metrics.find((x) => x.key === key)
    if (!a || !m) continue
    rows.push(...scenarioRows({ id, metrics: [{ ...m, label }] }, a.results, o.servers).rows)
  }
  const notes = all.flatMap((a) => a.notes.map((n) => `${a.scenario.id}: ${n}`))
  return [
    `Run of ${env.date.slice(0, 16).replace('T', ' ')} UTC, full run (${Math.round(totalS / 60)} min), ${env.host}; ` +
      `node ${env.node}, ${env.python}, crdtpad ${env.crdtpadCommit}. **2 shared cores, noisy: the ratios matter, ` +
      'not the absolute times.** All tables: [results-latest.md](results-latest.md).',
    '',
    markdownTable(rows, o.servers),
    '',
    ...(notes.length ? ['Notes from that run:', '', ...notes.map((n) => `- ${n.replace(/\|/g, '\\|')}`), ''] : [])
  ].join('\n')
}

function updateReadme (text) {
  const file = path.join(BENCH_DIR, 'README.md')
  const START = '<!-- latest-results:start -->'
  const END = '<!-- latest-results:end -->'
  let readme
  try { readme = fs.readFileSync(file, 'utf8') } catch { return }
  const i = readme.indexOf(START)
  const j = readme.indexOf(END)
  if (i < 0 || j < i) return
  fs.writeFileSync(file, `${readme.slice(0, i + START.length)}\n${text}\n${readme.slice(j)}`)
}

const bail = (sig) => {
  console.error(`\n${sig}: stopping servers`)
  killAllServers()
  process.exit(130)
}
process.on('SIGINT', () => bail('SIGINT'))
process.on('SIGTERM', () => bail('SIGTERM'))
process.on('exit', killAllServers)

main().catch((err) => {
  console.error(err?.stack ?? err)
  killAllServers()
  process.exit(1)
})
