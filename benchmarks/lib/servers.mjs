// The servers under test: how to start each one as a child process group on a free port, wait
// until it answers, and stop it (SIGTERM, then SIGKILL of the whole group). A server kind is a
// process plus the dialect its clients speak: `crdtpad` and `crdtpad-hp` are the same crdtpad
// process, reached over /sync (y-websocket dialect) and /hocuspocus (Hocuspocus dialect).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sleep } from './util.mjs'

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = path.resolve(BENCH_DIR, '..')

export const SERVER_KINDS = ['crdtpad', 'crdtpad-hp', 'hocuspocus', 'yws']

// What a run without --servers measures. crdtpad-hp is left out to keep the full run near its
// 13 minutes (it would add about a third); compare it with --servers=crdtpad,crdtpad-hp,hocuspocus.
export const DEFAULT_SERVERS = ['crdtpad', 'hocuspocus', 'yws']

// label: column heads; short: in ratio heads ("crdtpad-hp/Hocuspocus") and verdict lines.
export const SERVER_INFO = {
  crdtpad: { label: 'crdtpad', short: 'crdtpad', dialect: 'yws' },
  'crdtpad-hp': { label: 'crdtpad /hocuspocus', short: 'crdtpad-hp', dialect: 'hocuspocus' },
  hocuspocus: { label: 'Hocuspocus', short: 'Hocuspocus', dialect: 'hocuspocus' },
  yws: { label: 'y-websocket-server', short: 'y-ws-server', dialect: 'yws' }
}

/** Python used for crdtpad: $CRDTPAD_PYTHON, else the repo's .venv. */
export function crdtpadPython () {
  const p = process.env.CRDTPAD_PYTHON || '.venv/bin/python'
  return path.isAbsolute(p) ? p : path.resolve(REPO_DIR, p)
}

function commandFor (kind, port, dataDir) {
  const node = process.execPath
  if (kind === 'crdtpad' || kind === 'crdtpad-hp') {
    // The working tree's src/ goes first on the path, so an out-of-date install cannot shadow it.
    const pyPath = [path.join(REPO_DIR, 'src'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter)
    return {
      cmd: crdtpadPython(),
      args: ['-m', 'crdtpad', 'serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--open-pads'],
      env: { ...process.env, PYTHONPATH: pyPath, PYTHONUNBUFFERED: '1' },
      healthPath: '/healthz'
    }
  }
  if (kind === 'hocuspocus') {
    return { cmd: node, args: [path.join(BENCH_DIR, 'servers/hocuspocus.mjs'), String(port), dataDir], env: process.env, healthPath: '/' }
  }
  if (kind === 'yws') {
    return { cmd: node, args: [path.join(BENCH_DIR, 'servers/yws.mjs'), String(port), dataDir], env: process.env, healthPath: '/' }
  }
  throw new Error(`unknown server kind ${JSON.stringify(kind)}`)
}

export async function freePort () {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function httpStatus (port, p, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, timeout: timeoutMs }, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on('timeout', () => { req.destroy(); resolve(0) })
    req.on('error', () => resolve(0))
  })
}

/** URL a light client opens for one pad. */
export function padUrl (kind, port, padId) {
  if (kind === 'crdtpad') return `ws://127.0.0.1:${port}/sync/${padId}`
  if (kind === 'yws') return `ws://127.0.0.1:${port}/${padId}`
  // Hocuspocus dialect: the pad name travels in every frame
  if (kind === 'crdtpad-hp') return `ws://127.0.0.1:${port}/hocuspocus`
  return `ws://127.0.0.1:${port}/`
}

/** Server URL handed to the stock provider (WebsocketProvider appends '/' + pad; HocuspocusProvider does not). */
export function providerUrl (kind, port) {
  if (kind === 'crdtpad') return `ws://127.0.0.1:${port}/sync`
  if (kind === 'crdtpad-hp') return `ws://127.0.0.1:${port}/hocuspocus`
  return `ws://127.0.0.1:${port}`
}

/** A client-side view of a running server, rebuilt from {kind, port} (e.g. inside a worker). */
export function remoteServer ({ kind, port }) {
  return {
    kind,
    port,
    dialect: SERVER_INFO[kind].dialect,
    padUrl: (padId) => padUrl(kind, port, padId),
    providerUrl: () => providerUrl(kind, port)
  }
}

/** true if `exited` settles within ms (the timer is cleared either way, so nothing lingers). */
async function exitedWithin (exited, ms) {
  let timer
  const r = await Promise.race([exited.then(() => true), new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms) })])
  clearTimeout(timer)
  return r
}

const live = new Set()
const dataDirs = new Set()

/** Kill every server still running and delete their temp data (synchronous: safe in 'exit' handlers). */
export function killAllServers () {
  for (const s of live) {
    try { process.kill(-s.pid, 'SIGKILL') } catch {}
  }
  live.clear()
  for (const dir of dataDirs) {
    try { fs.rmSync(dir, { recursive: true, force: true }) } catch {}
  }
  dataDirs.clear()
}

export class ServerProcess {
  constructor (kind, dataDir, logDir) {
    this.kind = kind
    this.info = SERVER_INFO[kind]
    this.dialect = this.info.dialect
    this.dataDir = dataDir
    this.logDir = logDir
    this.child = null
    this.port = 0
    this.starts = 0
    this.exitInfo = null
  }

  /** Fresh temp data dir for one benchmark phase. */
  static async fresh (kind, logDir) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `crdtpad-bench-${kind}-`))
    dataDirs.add(dataDir)
    return new ServerProcess(kind, dataDir, logDir)
  }

  get pid () { return this.child?.pid }
  get httpBase () { return `http://127.0.0.1:${this.port}` }

  /** What clients need to reach it (plain data: can be handed to a worker thread). */
  get endpoint () { return { kind: this.kind, port: this.port } }

  padUrl (padId) { return padUrl(this.kind, this.port, padId) }
  providerUrl () { return providerUrl(this.kind, this.port) }

  async start ({ timeoutMs = 60_000 } = {}) {
    if (this.child) throw new Error(`${this.kind} is already running`)
    this.port = await freePort()
    const c = commandFor(this.kind, this.port, this.dataDir)
    this.starts++
    this.logPath = path.join(this.logDir, `${this.kind}-${path.basename(this.dataDir)}-${this.starts}.log`)
    const log = fs.openSync(this.logPath, 'a')
    const t0 = performance.now()
    this.child = spawn(c.cmd, c.args, { env: c.env, cwd: REPO_DIR, detached: true, stdio: ['ignore', log, log] })
    fs.closeSync(log)
    live.add(this.child)
    this.exitInfo = null
    const child = this.child
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(child)
        this.exitInfo = { code, signal }
        resolve(this.exitInfo)
      })
      child.on('error', (err) => {
        live.delete(child)
        this.exitInfo = { code: -1, signal: null, error: String(err) }
        resolve(this.exitInfo)
      })
    })
    const deadline = t0 + timeoutMs
    while (performance.now() < deadline) {
      if (this.exitInfo) break
      if (await httpStatus(this.port, c.healthPath, 1000) === 200) {
        this.startMs = performance.now() - t0
        return this.startMs
      }
      await sleep(100)
    }
    const tail = this.logTail()
    await this.stop({ graceful: false })
    throw new Error(`${this.kind} did not become ready on port ${this.port} within ${timeoutMs} ms` +
      (this.exitInfo ? ` (exited ${JSON.stringify(this.exitInfo)})` : '') + `; log ${this.logPath}:\n${tail}`)
  }

  /** True when the process is still alive. */
  get alive () { return !!this.child && !this.exitInfo }

  logTail (lines = 30) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n')
    } catch { return '' }
  }

  /** Lines of the current log matching a pattern (errors, tracebacks), unless they match `except`. */
  logMatches (re, max = 20, except = null) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').filter((l) => re.test(l) && !except?.test(l)).slice(0, max)
    } catch { return [] }
  }

  /** SIGTERM the group, wait up to timeoutMs for the exit, then SIGKILL it. Returns how it ended. */
  async stop ({ graceful = true, timeoutMs = 30_000 } = {}) {
    const child = this.child
    if (!child) return null
    const t0 = performance.now()
    let forced = false
    if (!this.exitInfo) {
      try { process.kill(-child.pid, graceful ? 'SIGTERM' : 'SIGKILL') } catch {}
      if (!await exitedWithin(this.exited, timeoutMs)) {
        forced = true
        try { process.kill(-child.pid, 'SIGKILL') } catch {}
        await exitedWithin(this.exited, 5000)
      }
    }
    // Leftover members of the group (none expected) go too.
    try { process.kill(-child.pid, 'SIGKILL') } catch {}
    live.delete(child)
    this.child = null
    return { ...this.exitInfo, forced, stopMs: performance.now() - t0 }
  }

  removeData () {
    try { fs.rmSync(this.dataDir, { recursive: true, force: true }) } catch {}
    dataDirs.delete(this.dataDir)
  }
}
