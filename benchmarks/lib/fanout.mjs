// Fan-out latency: typists type marker characters at a fixed rate; every other client of the pad
// records when it first sees each one. An edit's latency is the time until the LAST other client
// of its pad has it. Also measures server CPU per delivered update and the load generator's CPU.
import { Worker } from 'node:worker_threads'
import { MARKER_COUNT } from './wire.mjs'
import { now, sleep, percentile, withTimeout } from './util.mjs'
import { treeCpuSeconds, treeRssBytes, selfCpuSeconds } from './proc.mjs'

const WORKER_URL = new URL('./fanout-worker.mjs', import.meta.url)

function rpc (worker, msg, ev, timeoutMs) {
  return withTimeout(new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (m.ev !== ev) return
      worker.off('message', onMsg)
      worker.off('error', onErr)
      if (m.fatal) reject(new Error(`worker: ${m.fatal}`))
      else resolve(m)
    }
    const onErr = (err) => { worker.off('message', onMsg); reject(err) }
    worker.on('message', onMsg)
    worker.on('error', onErr)
    worker.postMessage(msg)
  }), timeoutMs, `worker ${msg.cmd}`)
}

/**
 * @param server a started ServerProcess
 * @param cfg {pads, typists, readers, fullReaders, rateHz, jitter, warmupMs, windowMs, graceMs, workers}
 *   typists/readers are per pad; readers are light clients unless fullReaders > 0 (that many full).
 */
export async function runFanout (server, cfg) {
  const { pads, typists, readers, fullReaders = 0, rateHz, jitter = 0.5, warmupMs, windowMs, graceMs = 5000 } = cfg
  const T = pads * typists
  const clientsPerPad = typists + readers
  if (T * Math.ceil((warmupMs + windowMs) / 1000 * rateHz * 1.6) > MARKER_COUNT) {
    throw new Error(`not enough marker ids for ${T} typists over ${(warmupMs + windowMs) / 1000} s`)
  }
  const runId = Math.random().toString(36).slice(2, 8)
  const padIds = Array.from({ length: pads }, (_, p) => `fan-${runId}-${p}`)
  const specs = []
  for (let p = 0; p < pads; p++) {
    for (let j = 0; j < typists; j++) specs.push({ pad: padIds[p], padIndex: p, typist: p * typists + j, full: true })
    for (let j = 0; j < readers; j++) specs.push({ pad: padIds[p], padIndex: p, typist: -1, full: j < fullReaders })
  }
  const nWorkers = Math.max(1, Math.min(cfg.workers ?? 1, specs.length))
  const perWorker = Array.from({ length: nWorkers }, () => [])
  specs.forEach((s, i) => perWorker[i % nWorkers].push(s))
  const sendTimesSab = new SharedArrayBuffer(MARKER_COUNT * 8)
  const sendTimes = new Float64Array(sendTimesSab)

  const workers = perWorker.map((clients) => new Worker(WORKER_URL, {
    workerData: {
      endpoint: server.endpoint,
      clients,
      totalTypists: T,
      sendTimes: sendTimesSab,
      rateHz,
      jitter,
      connectConcurrency: 16,
      connectTimeoutMs: 20_000
    }
  }))
  const errors = []
  try {
    const t0 = now()
    const conn = await Promise.all(workers.map((w) => rpc(w, { cmd: 'connect' }, 'connect-done', 120_000)))
    const connectWallMs = now() - t0
    const failedConnects = conn.reduce((a, r) => a + r.failed, 0)
    for (const r of conn) errors.push(...r.errors)
    const connectMs = conn.flatMap((r) => r.connectMs)
    if (failedConnects > specs.length * 0.05) {
      throw new Error(`${failedConnects} of ${specs.length} clients failed to connect: ${errors.slice(0, 3).join('; ')}`)
    }

    const tStart = now() + 200
    const wStart = tStart + warmupMs
    const wEnd = wStart + windowMs
    await Promise.all(workers.map((w) => rpc(w, { cmd: 'type', until: wEnd, eluAt: [wStart, wEnd] }, 'type-done', 10_000)))
    await sleep(wStart - now())
    const cpu0 = treeCpuSeconds(server.pid)
    const self0 = selfCpuSeconds()
    const wall0 = now()
    await sleep(wEnd - now())
    const cpu1 = treeCpuSeconds(server.pid)
    const self1 = selfCpuSeconds()
    const wall1 = now()
    const rss = treeRssBytes(server.pid)

    // Which edits were made inside the window, and which pad each went to.
    const windowIds = []
    for (let id = 0; id < MARKER_COUNT; id++) {
      const t = sendTimes[id]
      if (t >= wStart && t < wEnd) windowIds.push(id)
    }
    const expected = clientsPerPad - 1
    let reports
    const graceEnd = now() + graceMs
    while (true) {
      reports = await Promise.all(workers.map((w) => rpc(w, { cmd: 'report' }, 'report-done', 30_000)))
      const complete = windowIds.every((id) => reports.reduce((a, r) => a + r.recvCount[id], 0) >= expected)
      if (complete || now() > graceEnd) break
      await sleep(500)
    }
    for (const r of reports) errors.push(...r.errors)

    const latencies = []
    const echoes = []
    let incomplete = 0
    let deliveries = 0
    let anomalies = 0
    for (const id of windowIds) {
      let count = 0
      let last = 0
      for (const r of reports) {
        count += r.recvCount[id]
        if (r.recvMax[id] > last) last = r.recvMax[id]
        if (r.echoTime[id] > 0) echoes.push(r.echoTime[id] - sendTimes[id])
      }
      deliveries += Math.min(count, expected)
      if (count < expected) { incomplete++; continue }
      const lat = last - sendTimes[id]
      if (lat < 0) { anomalies++; continue }
      latencies.push(lat)
    }
    // Every full client of a pad must hold the same text once everything was delivered.
    const digests = new Map()
    for (const r of reports) {
      for (const { pad, digest } of r.fullStates) {
        if (!digests.has(pad)) digests.set(pad, new Set())
        digests.get(pad).add(digest)
      }
    }
    const divergedPads = [...digests.values()].filter((set) => set.size > 1).length
    if (divergedPads) errors.push(`${divergedPads} pad(s) whose full clients hold different texts after the grace period`)
    const windowS = (wall1 - wall0) / 1000
    const serverCpuS = cpu1 - cpu0
    const loadgenCpuS = self1 - self0
    return {
      pads,
      typists,
      clientsPerPad,
      totalClients: specs.length,
      workers: nWorkers,
      connectWallMs,
      connectP50: percentile(connectMs, 50),
      connectP99: percentile(connectMs, 99),
      failedConnects,
      edits: windowIds.length,
      editsPerS: windowIds.length / windowS,
      targetEditsPerS: T * rateHz,
      completed: latencies.length,
      incomplete,
      anomalies,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.length ? latencies.reduce((a, v) => (v > a ? v : a), 0) : NaN,
      echoP50: percentile(echoes, 50),
      deliveries,
      deliveriesPerS: deliveries / windowS,
      serverCpuS,
      serverCpuPct: (100 * serverCpuS) / windowS,
      serverCpuMsPer1k: deliveries ? (1e6 * serverCpuS) / deliveries : NaN,
      loadgenCpuPct: (100 * loadgenCpuS) / windowS,
      loadgenBusy: reports.map((r) => r.eventLoopBusy),
      serverRssMB: rss / 2 ** 20,
      divergedPads,
      unexpectedCloses: reports.reduce((a, r) => a + r.unexpectedCloses, 0),
      reconnects: reports.reduce((a, r) => a + r.reconnects, 0),
      serverAlive: server.alive,
      errors: [...new Set(errors)].slice(0, 10)
    }
  } finally {
    await Promise.all(workers.map((w) => rpc(w, { cmd: 'close' }, 'close-done', 20_000).catch(() => {})))
    await Promise.all(workers.map((w) => w.terminate()))
  }
}
