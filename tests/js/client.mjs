// A stock y-websocket provider driven over stdin/stdout by the Python tests.
// Usage: node client.mjs ws://127.0.0.1:PORT/sync PAD_ID [PARAMS_JSON]  (params go in the query, e.g. token)
// Commands (one JSON object per line): insert {index,text}, delete {index,length}, text, awareness {state},
// peers, disconnect, connect, stats, quit. Every reply and event is one JSON line on stdout.
import * as readline from 'node:readline'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'

const [serverUrl, padId, paramsJson] = process.argv.slice(2)
const params = paramsJson ? JSON.parse(paramsJson) : {}
const doc = new Y.Doc()
const text = doc.getText('content')
const provider = new WebsocketProvider(serverUrl, padId, doc, { WebSocketPolyfill: WebSocket, connect: true, params })
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const stats = { statusChanges: [], closes: [], synced: 0 }

provider.on('status', ({ status }) => { stats.statusChanges.push(status); out({ ev: 'status', status }) })
provider.on('sync', (synced) => { if (synced) { stats.synced++; out({ ev: 'synced' }) } })
provider.on('connection-close', (event) => {
  const code = event ? event.code : null
  stats.closes.push(code)
  out({ ev: 'close', code, reason: event ? String(event.reason) : '' })
})
provider.on('closed', () => out({ ev: 'closed' }))

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  const cmd = JSON.parse(line)
  try {
    switch (cmd.op) {
      case 'insert': text.insert(cmd.index ?? text.length, cmd.text); out({ ev: 'ok', id: cmd.id }); break
      case 'delete': text.delete(cmd.index, cmd.length); out({ ev: 'ok', id: cmd.id }); break
      case 'text': out({ ev: 'text', id: cmd.id, text: text.toString() }); break
      case 'awareness': provider.awareness.setLocalState(cmd.state); out({ ev: 'ok', id: cmd.id }); break
      case 'peers': out({ ev: 'peers', id: cmd.id, states: Object.fromEntries(provider.awareness.getStates()) }); break
      case 'disconnect': provider.disconnect(); out({ ev: 'ok', id: cmd.id }); break
      case 'connect': provider.connect(); out({ ev: 'ok', id: cmd.id }); break
      case 'stats': out({ ev: 'stats', id: cmd.id, ...stats, wsconnected: provider.wsconnected }); break
      case 'quit': provider.destroy(); out({ ev: 'ok', id: cmd.id }); setTimeout(() => process.exit(0), 50); break
      default: out({ ev: 'error', id: cmd.id, message: `unknown op ${cmd.op}` })
    }
  } catch (e) {
    out({ ev: 'error', id: cmd.id, message: String(e) })
  }
})
rl.on('close', () => { provider.destroy(); process.exit(0) })
