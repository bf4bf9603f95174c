// @y/websocket-server 0.1.x (the y-websocket reference server), persisting to LevelDB (y-leveldb)
// through its own YPERSISTENCE switch, which must be set before its utils module is imported.
// Usage: node servers/yws.mjs PORT DATA_DIR [--memory]
import http from 'node:http'
import path from 'node:path'

const port = Number(process.argv[2])
const dataDir = process.argv[3]
const memory = process.argv.includes('--memory')
if (!port || !dataDir) {
  console.error('usage: node servers/yws.mjs PORT DATA_DIR [--memory]')
  process.exit(2)
}
if (!memory) process.env.YPERSISTENCE = path.join(dataDir, 'leveldb')

const { WebSocketServer } = await import('ws')
const { setupWSConnection } = await import('@y/websocket-server/utils')

const wss = new WebSocketServer({ noServer: true })
wss.on('connection', setupWSConnection)
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' })
  res.end('okay')
})
server.on('upgrade', (req, socket, head) => {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req))
})
server.listen(port, '127.0.0.1', () => console.log(`y-websocket-server listening on 127.0.0.1:${port}`))

// y-leveldb runs every read and write on one promise chain (`provider.tr`), and the server only
// queues them: a burst of new pads can leave thousands of loads and stores queued after the
// clients saw their echoes. On SIGTERM: stop accepting, drop the sockets, wait until that chain
// stops growing (pending loads still append their stores), then close LevelDB. The stock
// `npx y-websocket` does none of this (SIGTERM kills it and the queue is lost).
let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  server.close()
  for (const ws of wss.clients) ws.terminate()
  try {
    const { getPersistence } = await import('@y/websocket-server/utils')
    const ldb = getPersistence()?.provider
    if (ldb) {
      const deadline = Date.now() + 300_000
      let tr
      do {
        tr = ldb.tr
        await tr
        await new Promise((resolve) => setImmediate(resolve))
      } while (tr !== ldb.tr && Date.now() < deadline)
      await ldb.destroy()
    }
  } catch (err) {
    console.error('closing leveldb failed:', err)
  }
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
