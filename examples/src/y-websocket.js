// The stock y-websocket provider on ws://HOST/sync/{pad}, the token as ?token=.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { bindEditor, fetchToken, showStatus, who } from './common.js'

const { pad, user } = who()
const { token, server } = await fetchToken(pad, user)
const doc = new Y.Doc()
const provider = new WebsocketProvider(`${server}/sync`, pad, doc, { params: { token } })
provider.on('sync', (synced) => { if (synced) showStatus('synced', 'synced') })
provider.on('connection-close', (event) => { if (event) showStatus('closed', `closed ${event.code} ${event.reason}`) })
bindEditor(doc, provider.awareness, user)
window.example = { doc, provider }
