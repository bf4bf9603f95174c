// Two kinds of benchmark client:
//  - LightClient: a raw WebSocket that does the handshake of its server's dialect, answers the
//    server's step1 with an empty step2, and only looks for marker characters in sync payloads.
//    It never builds a Y.Doc, so hundreds of them cost the load generator little.
//  - FullClient: a real Y.Doc behind the stock provider (y-websocket's WebsocketProvider, or
//    @hocuspocus/provider for Hocuspocus), with a WebSocket subclass that sees every frame first.
// Both count bytes on the wire from their TCP socket (WebSocket framing included).
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { HocuspocusProvider } from '@hocuspocus/provider'
import {
  framesFor, parseFrame, scanMarkers, wsHeaderBytes,
  MSG_SYNC, MSG_SYNC_REPLY, MSG_AUTH, SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE
} from './wire.mjs'
import { now } from './util.mjs'

const toBytes = (data) => {
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data))
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

/**
 * Scan one received frame for markers. Calls onMarker(id, t) for every marker in a step2 or
 * update payload; returns the parsed head (or null).
 */
export function inspectFrame (dialect, bytes, onMarker, t) {
  const f = parseFrame(dialect, bytes)
  if (!f) return null
  if (onMarker && (f.type === MSG_SYNC || f.type === MSG_SYNC_REPLY) && (f.sub === SYNC_STEP2 || f.sub === SYNC_UPDATE)) {
    scanMarkers(bytes, f.start, f.end, (id) => onMarker(id, t))
  }
  return f
}

export class LightClient {
  /**
   * @param server a ServerProcess (or {dialect, padUrl})
   * @param padId pad to open
   * @param opts.onMarker (id, t) => void, called for every marker seen in a sync payload
   */
  constructor (server, padId, { onMarker = null, keepAliveMs = 20_000 } = {}) {
    this.dialect = server.dialect
    this.url = server.padUrl(padId)
    this.padId = padId
    this.frames = framesFor(this.dialect, padId)
    this.onMarker = onMarker
    this.keepAliveMs = keepAliveMs
    this.ws = null
    this.socket = null
    this.synced = false
    this.closed = false
    this.closeInfo = null
    this.error = null
    this.markerWaiters = new Map()
    this.framesIn = 0
    this._handleMarker = (id, t) => {
      if (this.onMarker) this.onMarker(id, t)
      const w = this.markerWaiters.get(id)
      if (w) { this.markerWaiters.delete(id); w(t) }
    }
  }

  /** Open the socket and resolve when the first step2 arrived (the server's view of the pad). */
  open (timeoutMs = 15_000) {
    this.tStart = now()
    return new Promise((resolve, reject) => {
      let settled = false
      const done = (err) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err) { this.close(); reject(err) } else resolve(this.tSynced - this.tStart)
      }
      const timer = setTimeout(() => done(new Error(`light client on ${this.padId}: no step2 within ${timeoutMs} ms`)), timeoutMs)
      const ws = new WebSocket(this.url, { handshakeTimeout: timeoutMs })
      this.ws = ws
      ws.binaryType = 'nodebuffer'
      ws.on('open', () => {
        this.socket = ws._socket
        this.tOpen = now()
        for (const f of this.frames.hello) ws.send(f)
        if (this.frames.keepAlive && this.keepAliveMs > 0) {
          this.keepAliveTimer = setInterval(() => {
            if (ws.readyState === WebSocket.OPEN) ws.send(this.frames.keepAlive)
          }, this.keepAliveMs)
          this.keepAliveTimer.unref?.()
        }
      })
      ws.on('message', (data) => {
        const t = now()
        this.framesIn++
        const bytes = toBytes(data)
        const f = inspectFrame(this.dialect, bytes, this._handleMarker, t)
        if (!f) return
        if ((f.type === MSG_SYNC || f.type === MSG_SYNC_REPLY) && f.sub === SYNC_STEP1) {
          ws.send(this.frames.emptyStep2) // we hold nothing the server lacks
        } else if (f.type === MSG_SYNC && f.sub === SYNC_STEP2 && !this.synced) {
          this.synced = true
          this.tSynced = t
          done(null)
        } else if (f.type === MSG_AUTH && f.sub === 1) {
          done(new Error(`light client on ${this.padId}: permission denied`))
        }
      })
      ws.on('error', (err) => {
        this.error = err
        done(new Error(`light client on ${this.padId}: ${err.message}`))
      })
      ws.on('close', (code, reason) => {
        this.closed = true
        this.closeInfo = { code, reason: String(reason) }
        clearInterval(this.keepAliveTimer)
        done(new Error(`light client on ${this.padId}: closed ${code} ${reason}`))
        for (const w of this.markerWaiters.values()) w(NaN)
        this.markerWaiters.clear()
      })
    })
  }

  /** Resolve with the time marker `id` was first seen after this call (NaN if the socket closed). */
  waitMarker (id, timeoutMs, what = `marker ${id}`) {
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(new Error(`light client on ${this.padId}: closed before ${what}`)); return }
      const timer = setTimeout(() => {
        this.markerWaiters.delete(id)
        reject(new Error(`light client on ${this.padId}: ${what} not seen within ${timeoutMs} ms`))
      }, timeoutMs)
      this.markerWaiters.set(id, (t) => {
        clearTimeout(timer)
        if (Number.isNaN(t)) reject(new Error(`light client on ${this.padId}: closed (${this.closeInfo?.code}) before ${what}`))
        else resolve(t)
      })
    })
  }

  sendUpdate (update) {
    this.ws.send(this.frames.update(update))
  }

  get bufferedAmount () { return this.ws?.bufferedAmount ?? 0 }
  get bytesIn () { return this.socket?.bytesRead ?? 0 }
  get bytesOut () { return this.socket?.bytesWritten ?? 0 }

  close () {
    clearInterval(this.keepAliveTimer)
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) {
      try { this.ws.close(1000) } catch {}
    }
  }

  /** Close and wait (bounded) until the socket is gone. */
  async closeAndWait (timeoutMs = 5000) {
    if (!this.ws || this.closed) return
    const gone = new Promise((resolve) => this.ws.once('close', resolve))
    this.close()
    const t = setTimeout(() => { try { this.ws.terminate() } catch {} }, timeoutMs)
    await gone
    clearTimeout(t)
  }
}

/** A WebSocket class for the providers: counts sockets and shows every received frame to onFrame first. */
function observedWebSocket (sink) {
  return class ObservedWebSocket extends WebSocket {
    constructor (url, protocols) {
      super(url, protocols)
      sink.sockets.push(this)
      this.once('open', () => sink.rawSockets.push(this._socket))
      this.on('message', (data) => {
        const bytes = toBytes(data)
        sink.framesIn++
        sink.frameBytesIn += bytes.length + wsHeaderBytes(bytes.length, false)
        if (sink.onFrame) sink.onFrame(bytes, now())
      })
      this.on('close', (code) => { sink.closes.push(code) })
    }
  }
}

export class FullClient {
  /**
   * @param server a ServerProcess
   * @param padId pad to open
   * @param opts.onMarker (id, t) => void for markers in received sync payloads (seen before the
   *   provider integrates them)
   */
  constructor (server, padId, { onMarker = null } = {}) {
    this.kind = server.kind
    this.dialect = server.dialect
    this.padId = padId
    this.doc = new Y.Doc()
    this.text = this.doc.getText('content')
    this.sink = {
      sockets: [],
      rawSockets: [],
      closes: [],
      framesIn: 0,
      frameBytesIn: 0, // WebSocket frames (header + payload, no compression is negotiated here)
      onFrame: onMarker ? (bytes, t) => inspectFrame(this.dialect, bytes, onMarker, t) : null
    }
    const WS = observedWebSocket(this.sink)
    this.tStart = now()
    this.syncedPromise = new Promise((resolve) => { this._resolveSynced = resolve })
    if (server.dialect === 'hocuspocus') {
      this.provider = new HocuspocusProvider({
        url: server.providerUrl(),
        name: padId,
        document: this.doc,
        token: '',
        WebSocketPolyfill: WS,
        onSynced: ({ state }) => { if (state) this._synced() }
      })
    } else {
      this.provider = new WebsocketProvider(server.providerUrl(), padId, this.doc, {
        WebSocketPolyfill: WS,
        disableBc: true
      })
      this.provider.on('sync', (s) => { if (s) this._synced() })
    }
  }

  _synced () {
    if (this.tSynced === undefined) this.tSynced = now()
    this._resolveSynced()
  }

  /** Resolve once the provider reports synced. */
  waitSynced (timeoutMs = 15_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`full client on ${this.padId}: not synced within ${timeoutMs} ms (closes: ${this.sink.closes.join(',') || 'none'})`)), timeoutMs)
      this.syncedPromise.then(() => { clearTimeout(timer); resolve(this.tSynced - this.tStart) })
    })
  }

  /** Resolve with now() once the text has at least `length` characters. */
  waitLength (length, timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
      if (this.text.length >= length) { resolve(now()); return }
      const check = () => {
        if (this.text.length >= length) {
          clearTimeout(timer)
          this.text.unobserve(check)
          resolve(now())
        }
      }
      const timer = setTimeout(() => {
        this.text.unobserve(check)
        reject(new Error(`full client on ${this.padId}: has ${this.text.length} of ${length} chars after ${timeoutMs} ms`))
      }, timeoutMs)
      this.text.observe(check)
    })
  }

  get bytesIn () { return this.sink.rawSockets.reduce((a, s) => a + s.bytesRead, 0) }
  get bytesOut () { return this.sink.rawSockets.reduce((a, s) => a + s.bytesWritten, 0) }
  get reconnects () { return Math.max(0, this.sink.sockets.length - 1) }

  destroy () {
    try { this.provider.destroy() } catch {}
    try { this.doc.destroy() } catch {}
  }
}
