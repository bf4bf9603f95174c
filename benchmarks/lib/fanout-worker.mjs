// A worker thread of the fan-out load generator. It holds a share of the clients of every pad,
// types with its typists, and records when each receiver first saw each marker.
//
// Main thread -> worker: {cmd: 'connect'} | {cmd: 'type', until, eluAt: [t0, t1]} | {cmd: 'report'} | {cmd: 'close'}
// Worker -> main: {ev: <cmd>-done, ...}
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import * as Y from 'yjs'
import { LightClient, FullClient } from './clients.mjs'
import { remoteServer } from './servers.mjs'
import { MARKER_COUNT, markerChar } from './wire.mjs'
import { now, sleep, boundedFor, withTimeout } from './util.mjs'

process.setMaxListeners(0) // each y-websocket provider adds an 'exit' listener

const { endpoint, clients: specs, totalTypists: T, rateHz, jitter, connectConcurrency, connectTimeoutMs } = workerData
const server = remoteServer(endpoint)
const sendTimes = new Float64Array(workerData.sendTimes) // shared: typist writes, main reads

// Per marker: the latest first-receipt time among this worker's receivers, and how many of them
// have it. Receipts by a marker's own typist (the echo) are kept apart.
const recvMax = new Float64Array(MARKER_COUNT)
const recvCount = new Uint32Array(MARKER_COUNT)
const echoTime = new Float64Array(MARKER_COUNT)
const errors = []
const noteError = (msg) => { if (errors.length < 30) errors.push(msg) }

const clients = specs.map((spec) => {
  const seen = new Uint8Array(MARKER_COUNT)
  const c = { spec, seen, client: null, typed: 0, next: spec.typist >= 0 ? spec.typist : -1, cursor: null, timer: null, connectMs: NaN }
  c.onMarker = (id, t) => {
    if (seen[id]) return
    seen[id] = 1
    if (spec.typist >= 0 && id % T === spec.typist) { echoTime[id] = t; return }
    recvCount[id]++
    if (t > recvMax[id]) recvMax[id] = t
  }
  return c
})

let unexpectedCloses = 0
let closing = false

async function connectAll () {
  const r = await boundedFor(clients.length, connectConcurrency, async (i) => {
    const c = clients[i]
    const { pad, full } = c.spec
    if (full) {
      c.client = new FullClient(server, pad, { onMarker: c.onMarker })
      c.connectMs = await c.client.waitSynced(connectTimeoutMs)
    } else {
      c.client = new LightClient(server, pad, { onMarker: c.onMarker })
      c.connectMs = await c.client.open(connectTimeoutMs)
      c.client.ws.on('close', (code) => { if (!closing) { unexpectedCloses++; noteError(`reader on ${pad} closed ${code}`) } })
    }
  })
  for (const e of r.errors) noteError(e)
  return { connected: r.done, failed: r.failed, connectMs: clients.map((c) => c.connectMs).filter(Number.isFinite) }
}

function typeOne (c) {
  const id = c.next
  if (id < 0 || id >= MARKER_COUNT) return false
  c.next += T
  const text = c.client.text
  let pos
  if (c.cursor) {
    const abs = Y.createAbsolutePositionFromRelativePosition(c.cursor, c.client.doc)
    pos = abs ? abs.index : text.length
  } else {
    pos = Math.floor(Math.random() * (text.length + 1))
  }
  sendTimes[id] = now()
  text.insert(pos, markerChar(id)) // the provider sends the update synchronously from here
  // Keep the cursor right after our own character, whatever others insert around it.
  c.cursor = Y.createRelativePositionFromTypeIndex(text, pos + 1, -1)
  c.typed++
  return true
}

function startTyping (until) {
  const period = 1000 / rateHz
  for (const c of clients) {
    if (c.spec.typist < 0 || !c.client) continue
    const tick = () => {
      if (now() >= until) return
      try {
        if (!typeOne(c)) return
      } catch (err) {
        noteError(`typist ${c.spec.typist}: ${err.message}`)
        return
      }
      c.timer = setTimeout(tick, period * (1 - jitter + 2 * jitter * Math.random()))
    }
    c.timer = setTimeout(tick, Math.random() * period)
  }
}

/** FNV-1a over UTF-16 units, plus the length: enough to tell two copies of a pad apart. */
function digest (str) {
  let h = 0x811c9dc5
  for (let i = 0; i < str.length; i++) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193) >>> 0
  return `${str.length}:${h.toString(16)}`
}

const elu = {}
function sampleEluAt (name, t) {
  setTimeout(() => { elu[name] = performance.eventLoopUtilization() }, Math.max(0, t - now()))
}

parentPort.on('message', async (msg) => {
  try {
    if (msg.cmd === 'connect') {
      const r = await connectAll()
      parentPort.postMessage({ ev: 'connect-done', ...r, errors })
    } else if (msg.cmd === 'type') {
      sampleEluAt('start', msg.eluAt[0])
      sampleEluAt('end', msg.eluAt[1])
      startTyping(msg.until)
      parentPort.postMessage({ ev: 'type-done' })
    } else if (msg.cmd === 'report') {
      let fullCloses = 0
      let reconnects = 0
      for (const c of clients) {
        if (c.spec.full && c.client) { fullCloses += c.client.sink.closes.length; reconnects += c.client.reconnects }
      }
      const busy = elu.start && elu.end ? performance.eventLoopUtilization(elu.end, elu.start).utilization : NaN
      // What each full client ended up with, to check that the pad's copies converged.
      const fullStates = clients.filter((c) => c.spec.full && c.client).map((c) => ({ pad: c.spec.pad, digest: digest(c.client.text.toString()) }))
      parentPort.postMessage({
        ev: 'report-done',
        recvMax,
        recvCount,
        echoTime,
        typed: clients.reduce((a, c) => a + c.typed, 0),
        unexpectedCloses: unexpectedCloses + fullCloses,
        reconnects,
        eventLoopBusy: busy,
        bytesIn: clients.reduce((a, c) => a + (c.client?.bytesIn ?? 0), 0),
        fullStates,
        errors
      })
    } else if (msg.cmd === 'close') {
      closing = true
      for (const c of clients) clearTimeout(c.timer)
      await withTimeout(Promise.all(clients.map(async (c) => {
        if (!c.client) return
        if (c.spec.full) c.client.destroy()
        else await c.client.closeAndWait(3000)
      })), 10_000, 'closing clients').catch((e) => noteError(e.message))
      await sleep(50)
      parentPort.postMessage({ ev: 'close-done' })
    }
  } catch (err) {
    parentPort.postMessage({ ev: `${msg.cmd}-done`, fatal: String(err?.stack ?? err), errors })
  }
})
