// The one Yjs provider module: a pad's Doc, kept on the device (y-indexeddb) and synced with the
// server (y-websocket). It reports connection and "saved" status, and why access ended.
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider } from 'y-websocket'
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'

export type Status = 'connecting' | 'saving' | 'saved' | 'offline' | 'reconnecting' | 'ended'

export interface Ended { code: number, reason: string }

const TERMINAL = new Set([4400, 4401, 4403, 4404, 4410, 4429])

export class PadSync {
  readonly doc = new Y.Doc()
  readonly provider: WebsocketProvider
  readonly local: IndexeddbPersistence
  ended: Ended | null = null
  /** Per client, the clock the server is known to have committed (its SyncStep1, and every
   * update it relays, are committed state). */
  private readonly confirmed = new Map<number, number>()
  private everConnected = false
  private readonly listeners = new Set<(status: Status) => void>()

  constructor (readonly padId: string, token: string | null) {
    this.local = new IndexeddbPersistence(`crdtpad-${padId}`, this.doc)
    const base = new URL('sync', document.baseURI)
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
    this.provider = new WebsocketProvider(base.href, padId, this.doc, { params: token ? { token } : {} })
    this.watchSyncMessages()
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') this.everConnected = true
      this.emit()
    })
    this.provider.on('closed', (event) => {
      if (TERMINAL.has(event.code)) {
        this.ended = { code: event.code, reason: event.reason }
        this.provider.disconnect()
        // A deleted pad is gone from this device too.
        if (event.code === 4410) void this.local.clearData()
      }
      this.emit()
    })
    this.provider.on('connection-close', () => this.emit())
    this.provider.on('connection-error', () => this.emit())
    this.doc.on('update', () => this.emit())
    window.addEventListener('online', () => this.emit())
    window.addEventListener('offline', () => this.emit())
  }

  private watchSyncMessages (): void {
    const original = this.provider.messageHandlers[0]
    this.provider.messageHandlers[0] = (encoder, decoder, provider, emitSynced, messageType) => {
      try {
        const peek = decoding.createDecoder(decoder.arr.subarray(decoder.pos))
        const kind = decoding.readVarUint(peek)
        const payload = decoding.readVarUint8Array(peek)
        const reached = kind === 0 ? Y.decodeStateVector(payload) : Y.parseUpdateMeta(payload).to
        reached.forEach((clock, client) => {
          if (clock > (this.confirmed.get(client) ?? 0)) this.confirmed.set(client, clock)
        })
      } catch { /* the provider's own handler reports malformed messages */ }
      original(encoder, decoder, provider, emitSynced, messageType)
      queueMicrotask(() => this.emit())
    }
  }

  /** Whether everything in the local document is known to be committed on the server. */
  saved (): boolean {
    for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(this.doc))) {
      if ((this.confirmed.get(client) ?? 0) < clock) return false
    }
    return true
  }

  status (): Status {
    if (this.ended) return 'ended'
    if (!navigator.onLine) return 'offline'
    if (!this.provider.wsconnected) {
      if (this.everConnected) return 'reconnecting'
      // Opened without a connection (a reload while offline): what is shown is this device's copy.
      return this.provider.wsUnsuccessfulReconnects > 0 ? 'offline' : 'connecting'
    }
    if (!this.provider.synced) return 'connecting'
    return this.saved() ? 'saved' : 'saving'
  }

  onStatus (listener: (status: Status) => void): void {
    this.listeners.add(listener)
    listener(this.status())
  }

  private emit (): void {
    const status = this.status()
    this.listeners.forEach((l) => l(status))
  }

  destroy (): void {
    this.provider.destroy()
    void this.local.destroy()
  }
}
