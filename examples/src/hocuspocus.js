// The stock Hocuspocus provider on ws://HOST/hocuspocus: the pad is the document name, the
// token goes in-band; crdtpad acknowledges each edit once it is stored.
import * as Y from 'yjs'
import { HocuspocusProvider } from '@hocuspocus/provider'
import { bindEditor, fetchToken, showStatus, who } from './common.js'

const { pad, user } = who()
const { token, server } = await fetchToken(pad, user)
const doc = new Y.Doc()
const provider = new HocuspocusProvider({
  url: `${server}/hocuspocus`,
  name: pad,
  document: doc,
  token,
  onSynced: () => showStatus('synced', 'synced'),
  onAuthenticationFailed: ({ reason }) => showStatus('denied', `denied: ${reason}`)
})
bindEditor(doc, provider.awareness, user)
window.example = { doc, provider }
