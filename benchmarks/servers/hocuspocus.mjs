// Hocuspocus 4.x with the SQLite extension, as the benchmark runs it.
// Usage: node servers/hocuspocus.mjs PORT DATA_DIR
// Defaults are kept (debounce 2 s, maxDebounce 10 s, flushDelay 0) except:
//   quiet: no banner;  timeout: 600 s, so idle benchmark readers that send nothing are not
//   dropped by the 60 s "no message received" rule (it costs nothing while they are connected).
import path from 'node:path'
import { Server } from '@hocuspocus/server'
import { SQLite } from '@hocuspocus/extension-sqlite'

const port = Number(process.argv[2])
const dataDir = process.argv[3]
if (!port || !dataDir) {
  console.error('usage: node servers/hocuspocus.mjs PORT DATA_DIR')
  process.exit(2)
}

const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
  timeout: 600_000,
  extensions: [new SQLite({ database: path.join(dataDir, 'hocuspocus.sqlite') })]
})

await server.listen()
console.log(`hocuspocus listening on 127.0.0.1:${port}`)
