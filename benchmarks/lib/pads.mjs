// Scenarios about pads rather than typing rates: memory of loaded idle pads, RSS with many stored
// pads, connect+sync time, cold load of a long typing history, and bytes per keystroke.
import * as Y from 'yjs'
import { LightClient, FullClient } from './clients.mjs'
import { MARKER_COUNT, markerChar } from './wire.mjs'
import { now, sleep, percentile, median, prng, boundedFor, withTimeout } from './util.mjs'
import { treeRssBytes, dirBytes, treeCpuSeconds, selfCpuSeconds } from './proc.mjs'

/** The last marker id marks "the pad's content has arrived". */
export const SENTINEL = MARKER_COUNT - 1

/** One update that writes `chars` characters (ending with the sentinel) into an empty pad. */
export function contentUpdate (chars = 100) {
  const doc = new Y.Doc()
  let update = null
  doc.on('update', (u) => { update = u })
  const body = 'The quick brown fox jumps over the lazy dog, then types a short note into a shared pad. '
  let s = ''
  while (s.length < chars - 1) s += body
  doc.getText('content').insert(0, s.slice(0, chars - 1) + markerChar(SENTINEL))
  doc.destroy()
  return update
}

/** Open a pad, write `update` into it, and wait for the server's echo of it. Returns the client. */
export async function writePad (server, padId, update, timeoutMs = 20_000) {
  const c = new LightClient(server, padId)
  await c.open(timeoutMs)
  const echoed = c.waitMarker(SENTINEL, timeoutMs, 'echo of the pad content')
  c.sendUpdate(update)
  try {
    await echoed
  } catch (err) {
    c.close()
    throw err
  }
  return c
}

/** Open a pad and time it until its content (the sentinel) has arrived. */
export async function timeConnectSync (server, padId, timeoutMs = 20_000) {
  const c = new LightClient(server, padId)
  const t0 = now()
  const seen = new Promise((resolve, reject) => {
    c.markerWaiters.set(SENTINEL, (t) => (Number.isNaN(t) ? reject(new Error('closed')) : resolve(t)))
  })
  seen.catch(() => {})
  try {
    await c.open(timeoutMs)
    const t = await withTimeout(seen, timeoutMs, `content of ${padId}`)
    return { ms: t - t0, bytesIn: c.bytesIn }
  } finally {
    await c.closeAndWait(3000)
  }
}

// ---- memory per loaded idle pad ----

/** Lowest of three RSS readings 1 s apart: uncollected garbage inflates single readings. */
async function lowRss (pid) {
  let rss = Infinity
  for (let k = 0; k < 3; k++) {
    if (k) await sleep(1000)
    rss = Math.min(rss, treeRssBytes(pid))
  }
  return rss
}

export async function runIdlePads (server, { count, concurrency = 32, settleMs = 3000 }) {
  const update = contentUpdate(100)
  const runId = Math.random().toString(36).slice(2, 8)
  // One pad loaded and a connection served before the baseline, so one-off costs are not billed
  // to the pads.
  const warm = await writePad(server, `idle-${runId}-warm`, update)
  await sleep(1000)
  const rss0 = await lowRss(server.pid)
  const held = []
  const t0 = now()
  const r = await boundedFor(count, concurrency, async (i) => {
    held.push(await writePad(server, `idle-${runId}-${i}`, update))
  }, { deadline: now() + 180_000 })
  const openMs = now() - t0
  await sleep(settleMs)
  const rss1 = await lowRss(server.pid)
  let stillOpen = 0
  for (const c of held) if (!c.closed) stillOpen++
  await boundedFor(held.length, 64, (i) => held[i].closeAndWait(3000))
  await warm.closeAndWait(3000)
  return {
    pads: r.done,
    failed: r.failed,
    stillOpen,
    openMs,
    rssBaseMB: rss0 / 2 ** 20,
    rssLoadedMB: rss1 / 2 ** 20,
    kbPerPad: r.done ? (rss1 - rss0) / r.done / 1024 : NaN,
    errors: r.errors.slice(0, 5)
  }
}

// ---- RSS with many stored, unloaded pads; connect+sync cold and warm ----

export async function runStoredPads (server, { count, concurrency = 48, budgetMs, samples = 30 }) {
  const update = contentUpdate(100)
  const t0 = now()
  const cpu0 = treeCpuSeconds(server.pid)
  const self0 = selfCpuSeconds()
  const r = await boundedFor(count, concurrency, async (i) => {
    const c = await writePad(server, `st-${i}`, update)
    await c.closeAndWait(3000)
  }, { deadline: now() + budgetMs })
  const writeMs = now() - t0
  const writeServerCpuPct = (100 * (treeCpuSeconds(server.pid) - cpu0)) / (writeMs / 1000)
  const writeLoadgenCpuPct = (100 * (selfCpuSeconds() - self0)) / (writeMs / 1000)
  const created = r.done
  const rssAfterWriteMB = treeRssBytes(server.pid) / 2 ** 20
  await sleep(1000)
  const stop = await server.stop({ timeoutMs: 120_000 })
  const dataMB = dirBytes(server.dataDir) / 2 ** 20
  const startMs = await server.start({ timeoutMs: 120_000 })
  await sleep(1000)
  const rssIdleMB = treeRssBytes(server.pid) / 2 ** 20
  const rand = prng(42)
  const pick = () => `st-${Math.floor(rand() * created)}`
  // One pad open, as a user would have it.
  const holder = new LightClient(server, 'st-0')
  await holder.open()
  await sleep(1000)
  const rssOneOpenMB = treeRssBytes(server.pid) / 2 ** 20
  const cold = []
  const errors = [...r.errors.slice(0, 5)]
  let missing = 0
  for (let k = 0; k < samples && created > 1; k++) {
    const padId = pick()
    try {
      cold.push((await timeConnectSync(server, padId, 10_000)).ms)
    } catch (err) {
      missing++
      errors.push(`cold connect: ${err.message}`)
      if (missing >= 5) { errors.push('gave up sampling unloaded pads after 5 failures'); break }
    }
  }
  const warm = []
  for (let k = 0; k < samples; k++) {
    try { warm.push((await timeConnectSync(server, 'st-0', 10_000)).ms) } catch (err) { errors.push(`warm connect: ${err.message}`) }
  }
  await holder.closeAndWait(3000)
  return {
    requested: count,
    created,
    failed: r.failed,
    stoppedEarly: r.stoppedEarly,
    writeMs,
    padsPerS: created / (writeMs / 1000),
    // Until durable: the writes plus the flush a SIGTERM waits for (y-websocket-server echoes
    // before LevelDB has the update, and can be tens of seconds behind).
    durablePadsPerS: created / ((writeMs + 1000 + (stop?.stopMs ?? NaN)) / 1000),
    writeServerCpuPct,
    writeLoadgenCpuPct,
    rssAfterWriteMB,
    stopMs: stop?.stopMs,
    stopForced: stop?.forced,
    dataMB,
    restartMs: startMs,
    rssIdleMB,
    rssOneOpenMB,
    coldConnectP50: percentile(cold, 50),
    coldConnectP99: percentile(cold, 99),
    warmConnectP50: percentile(warm, 50),
    warmConnectP99: percentile(warm, 99),
    connectSamples: Math.min(cold.length, warm.length),
    coldMissing: missing,
    errors: errors.slice(0, 8)
  }
}

// ---- cold load of a long typing history ----

const LETTERS = 'etaoinshrdlucmfwypvbgkqjxz'

/** One author typing into their own part of the pad: a local Y.Doc whose updates go out raw. */
class HistoryWriter {
  constructor (server, padId, index, writers, seed) {
    this.client = new LightClient(server, padId)
    this.index = index
    this.writers = writers
    this.rand = prng(seed + index * 7919)
    this.doc = new Y.Doc()
    this.text = this.doc.getText('content')
    this.cursor = 0
    this.updates = 0
    this.updateBytes = 0
    this.pending = []
    this.checkpoints = 0
    this.doc.on('update', (u) => {
      this.updates++
      this.updateBytes += u.length
      this.client.sendUpdate(u)
    })
  }

  /** Next checkpoint marker id of this writer (ids are shared out round-robin between writers). */
  nextCheckpoint () {
    const id = this.checkpoints++ * this.writers + this.index
    if (id >= SENTINEL) throw new Error('out of checkpoint ids')
    return id
  }

  /** Make one small edit: mostly a word typed at the cursor, sometimes a backspace or a jump. */
  edit (checkpointId = null) {
    const r = this.rand
    const len = this.text.length
    const x = r()
    if (checkpointId === null && x < 0.06 && this.cursor > 4) {
      const n = 1 + Math.floor(r() * 4)
      this.text.delete(this.cursor - n, n)
      this.cursor -= n
      return null
    }
    if (x < 0.08) this.cursor = Math.floor(r() * (len + 1))
    let s = ''
    const n = 1 + Math.floor(r() * 12)
    for (let i = 0; i < n; i++) s += r() < 0.17 ? ' ' : LETTERS[Math.floor(r() * r() * LETTERS.length)]
    if (r() < 0.02) s += '\n'
    if (checkpointId !== null) s += markerChar(checkpointId)
    this.text.insert(this.cursor, s)
    this.cursor += s.length
  }

  /** Type one edit that carries a checkpoint marker; remember the wait for its echo. */
  editWithCheckpoint (what) {
    const id = this.nextCheckpoint()
    const echoed = this.client.waitMarker(id, 60_000, `${what} ${id}`)
    echoed.catch(() => {}) // awaited later; a rejection must not count as unhandled meanwhile
    this.pending.push(echoed)
    this.edit(id)
  }
}

/**
 * Write a typing history of about targetBytes characters into one pad (several authors at a
 * bounded message rate each, like real clients), restart the server, and time a fresh full client
 * until it holds the whole text. Repeated `repeats` times, each after its own restart.
 */
export async function runColdLoad (server, { targetBytes, writers = 12, ratePerWriter = 90, budgetMs = 120_000, repeats = 3, seed = 1 }) {
  const padId = 'history'
  const ws = Array.from({ length: writers }, (_, i) => new HistoryWriter(server, padId, i, writers, seed))
  await Promise.all(ws.map((w) => w.client.open(20_000)))
  const t0 = now()
  const deadline = t0 + budgetMs
  const totalLength = () => ws.reduce((a, w) => a + w.text.length, 0)
  const CHECK_EVERY = 100
  const MAX_PENDING = 4
  let stoppedEarly = false
  let failure = null
  await Promise.all(ws.map(async (w, wi) => {
    const start = now() + wi * (1000 / ratePerWriter / writers)
    let n = 0
    while (w.text.length < targetBytes / writers) { // each author writes their share: same history on every server
      if (failure) return
      if (now() > deadline) { stoppedEarly = true; break }
      const due = start + (n * 1000) / ratePerWriter
      const wait = due - now()
      if (wait > 1) await sleep(wait)
      n++
      if (n % CHECK_EVERY === 0) w.editWithCheckpoint('history checkpoint')
      else w.edit()
      if (w.pending.length > MAX_PENDING) {
        try { await w.pending.shift() } catch (err) { failure ??= err; return }
      }
    }
    w.editWithCheckpoint('final history checkpoint')
    try { await Promise.all(w.pending) } catch (err) { failure ??= err }
  }))
  if (failure) {
    await Promise.all(ws.map((w) => w.client.closeAndWait(3000)))
    throw new Error(`writing the history failed after ${Math.round(now() - t0)} ms, ${totalLength()} chars: ${failure.message}`)
  }
  const writeMs = now() - t0
  const expected = totalLength()
  const updates = ws.reduce((a, w) => a + w.updates, 0)
  const historyBytes = ws.reduce((a, w) => a + w.updateBytes, 0)
  await Promise.all(ws.map((w) => w.client.closeAndWait(3000)))

  // Check the server holds it all before restarting (a warm load, for reference).
  const check = new FullClient(server, padId)
  let warmMs = NaN
  try {
    await check.waitSynced(30_000)
    warmMs = (await check.waitLength(expected, 60_000)) - check.tStart
    if (check.text.length !== expected) throw new Error(`server holds ${check.text.length} chars, expected ${expected}`)
  } finally {
    check.destroy()
  }
  await sleep(2500) // let debounced stores run (Hocuspocus stores 2 s after the last change)

  const runs = []
  const errors = []
  let dataMB = NaN
  for (let k = 0; k < repeats; k++) {
    await server.stop({ timeoutMs: 60_000 })
    dataMB = dirBytes(server.dataDir) / 2 ** 20
    await server.start({ timeoutMs: 60_000 })
    await sleep(500)
    const c = new FullClient(server, padId)
    try {
      const t = await c.waitLength(expected, 60_000)
      runs.push({ ms: t - c.tStart, bytesIn: c.bytesIn, frameBytesIn: c.sink.frameBytesIn, length: c.text.length })
    } catch (err) {
      errors.push(err.message)
    } finally {
      c.destroy()
    }
    await sleep(300)
  }
  return {
    chars: expected,
    targetBytes,
    updates,
    historyKB: historyBytes / 1024,
    writers,
    writeMs,
    updatesPerS: updates / (writeMs / 1000),
    stoppedEarly,
    warmLoadMs: warmMs,
    dataMB,
    coldMs: median(runs.map((r) => r.ms)),
    coldMsAll: runs.map((r) => Math.round(r.ms)),
    coldKB: median(runs.map((r) => r.frameBytesIn)) / 1024,
    coldSocketKB: median(runs.map((r) => r.bytesIn)) / 1024,
    repeats: runs.length,
    errors
  }
}

// ---- bytes on the wire per keystroke ----

/**
 * One sender and `receivers` full clients; the sender types ASCII at rateHz for windowMs. Bytes
 * are TCP payload bytes of each client's socket (WebSocket framing included) over the typing
 * window, plus a short settle for the last echoes and acks. The whole run stays under the 15 s
 * awareness renewal so keep-alives are not billed to keystrokes.
 */
export async function runBytes (server, { receivers = 2, rateHz = 2, windowMs = 10_000 }) {
  const padId = `bytes-${Math.random().toString(36).slice(2, 8)}`
  const sender = new FullClient(server, padId)
  const others = Array.from({ length: receivers }, () => new FullClient(server, padId))
  const all = [sender, ...others]
  try {
    await Promise.all(all.map((c) => c.waitSynced(20_000)))
    sender.text.insert(0, 'Hello')
    await Promise.all(others.map((c) => c.waitLength(5, 10_000)))
    await sleep(500)
    const before = all.map((c) => ({ in: c.bytesIn, out: c.bytesOut, frames: c.sink.framesIn }))
    const rand = prng(7)
    const keys = Math.max(1, Math.round((windowMs / 1000) * rateHz))
    for (let k = 0; k < keys; k++) {
      sender.text.insert(sender.text.length, r2c(rand))
      await sleep((1000 / rateHz) * (0.5 + rand()))
    }
    const want = sender.text.length
    await Promise.all(others.map((c) => c.waitLength(want, 10_000)))
    await sleep(500)
    const after = all.map((c) => ({ in: c.bytesIn, out: c.bytesOut, frames: c.sink.framesIn }))
    const d = all.map((c, i) => ({ in: after[i].in - before[i].in, out: after[i].out - before[i].out, frames: after[i].frames - before[i].frames }))
    return {
      keystrokes: keys,
      senderUp: d[0].out / keys,
      senderDown: d[0].in / keys,
      senderFramesDown: d[0].frames / keys,
      receiverDown: d.slice(1).reduce((a, x) => a + x.in, 0) / receivers / keys,
      receiverUp: d.slice(1).reduce((a, x) => a + x.out, 0) / receivers / keys,
      receiverFramesDown: d.slice(1).reduce((a, x) => a + x.frames, 0) / receivers / keys
    }
  } finally {
    for (const c of all) c.destroy()
  }
}

const r2c = (rand) => (rand() < 0.18 ? ' ' : LETTERS[Math.floor(rand() * rand() * LETTERS.length)])
