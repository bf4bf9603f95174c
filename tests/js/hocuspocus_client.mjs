// Stock @hocuspocus/provider clients driven over stdin/stdout by the Python tests.
// Usage: node hocuspocus_client.mjs ws://127.0.0.1:PORT/hocuspocus
// Pads are opened on one shared HocuspocusProviderWebsocket (multiplexed), or with `own: true` as
// `new HocuspocusProvider({url, name, token, WebSocketPolyfill})` with a socket of their own.
// Commands (one JSON object per line, `pad` names the pad): open {pad, token?, own?, name?, forceSync?}, insert {index?, text},
// delete {index, length}, text, state, awareness {state}, peers, stateless {payload}, detach,
// disconnect, connect, sockets, quit. Every reply and event is one JSON line on stdout; events
// record what the server sent: authenticated, denied, synced, unsynced, doc-close, sync-status, stateless,
// socket-open, socket-close. With `name`, `pad` is only the driver's handle and the provider opens the
// document `name` with `sessionAwareness: true` (several providers of one document on one socket).
import * as readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'

const [url] = process.argv.slice(2)
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
let socketsOpened = 0

class CountingWebSocket extends WebSocket {
  constructor (...args) {
    super(...args)
    socketsOpened++
  }
}

const watchSocket = (socket, pad) => {
  socket.on('open', () => out({ ev: 'socket-open', pad }))
  socket.on('close', ({ event }) => out({ ev: 'socket-close', pad, code: event?.code ?? null, reason: String(event?.reason ?? '') }))
  return socket
}
// Short reconnect delays keep the tests fast; everything else is the provider's default.
const socketOptions = { url, WebSocketPolyfill: CountingWebSocket, delay: 200, minDelay: 100, maxDelay: 1000 }
let shared = null
const providers = new Map()

function open (pad, token, own, name, forceSync) {
  const doc = new Y.Doc()
  const config = {
    name: name ?? pad,
    sessionAwareness: name !== undefined,
    forceSyncInterval: forceSync ?? false,
    document: doc,
    token: token ?? '',
    onAuthenticated: ({ scope }) => out({ ev: 'authenticated', pad, scope }),
    onAuthenticationFailed: ({ reason }) => out({ ev: 'denied', pad, reason }),
    onSynced: () => out({ ev: 'synced', pad }),
    onUnsyncedChanges: ({ number }) => out({ ev: 'unsynced', pad, number }),
    onStateless: ({ payload }) => out({ ev: 'stateless', pad, payload })
  }
  let provider
  if (own) {
    provider = new HocuspocusProvider({ ...config, ...socketOptions })
    watchSocket(provider.configuration.websocketProvider, pad)
  } else {
    if (shared === null) shared = watchSocket(new HocuspocusProviderWebsocket(socketOptions), null)
    provider = new HocuspocusProvider({ ...config, websocketProvider: shared })
    provider.attach()
  }
  // What the server sent, read from the raw frame: per-pad Close and every SyncStatus.
  provider.on('message', ({ message }) => {
    const d = decoding.createDecoder(new Uint8Array(message.data))
    decoding.readVarString(d)
    const type = decoding.readVarUint(d)
    if (type === 7) out({ ev: 'doc-close', pad, reason: decoding.readVarString(d) })
    if (type === 8) out({ ev: 'sync-status', pad, ok: decoding.readVarInt(d) === 1 })
  })
  providers.set(pad, { provider, doc, text: doc.getText('content') })
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const cmd = JSON.parse(line)
  const p = providers.get(cmd.pad)
  try {
    switch (cmd.op) {
      case 'open': open(cmd.pad, cmd.token, cmd.own, cmd.name ?? undefined, cmd.forceSync); out({ ev: 'ok', id: cmd.id }); break
      case 'insert': p.text.insert(cmd.index ?? p.text.length, cmd.text); out({ ev: 'ok', id: cmd.id }); break
      case 'delete': p.text.delete(cmd.index, cmd.length); out({ ev: 'ok', id: cmd.id }); break
      case 'text': out({ ev: 'text', id: cmd.id, text: p.text.toString() }); break
      case 'state':
        out({
          ev: 'state',
          id: cmd.id,
          unsynced: p.provider.unsyncedChanges,
          synced: p.provider.synced,
          authenticated: p.provider.isAuthenticated,
          scope: p.provider.authorizedScope ?? null
        })
        break
      case 'awareness': p.provider.setAwarenessField('user', cmd.state); out({ ev: 'ok', id: cmd.id }); break
      case 'peers':
        out({ ev: 'peers', id: cmd.id, states: Object.fromEntries(p.provider.awareness.getStates()) })
        break
      case 'stateless': p.provider.sendStateless(cmd.payload); out({ ev: 'ok', id: cmd.id }); break
      case 'detach': p.provider.destroy(); providers.delete(cmd.pad); out({ ev: 'ok', id: cmd.id }); break
      case 'disconnect': shared.disconnect(); out({ ev: 'ok', id: cmd.id }); break
      case 'connect': shared.connect(); out({ ev: 'ok', id: cmd.id }); break
      case 'sockets': out({ ev: 'sockets', id: cmd.id, opened: socketsOpened }); break
      case 'quit':
        for (const { provider } of providers.values()) provider.destroy()
        if (shared !== null) shared.destroy()
        out({ ev: 'ok', id: cmd.id })
        setTimeout(() => process.exit(0), 50)
        break
      default: out({ ev: 'error', id: cmd.id, message: `unknown op ${cmd.op}` })
    }
  } catch (e) {
    out({ ev: 'error', id: cmd.id, message: String(e) })
  }
})
rl.on('close', () => process.exit(0))
