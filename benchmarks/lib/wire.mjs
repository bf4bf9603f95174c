// Just enough of the two wire dialects for light clients: build the few frames they send, find
// the sync payload in what they receive, and spot typed-character markers inside it. Nothing here
// decodes a Yjs update or touches a Y.Doc.
//
// y-websocket dialect (crdtpad, y-websocket-server): frame = varUint(type) • body
// Hocuspocus dialect: frame = varString(documentName) • varUint(type) • body

export const MSG_SYNC = 0
export const MSG_AWARENESS = 1
export const MSG_AUTH = 2
export const MSG_QUERY_AWARENESS = 3
export const MSG_SYNC_REPLY = 4 // Hocuspocus only: a sync message that must not be answered with step1
export const MSG_SYNC_STATUS = 8 // Hocuspocus only: ack of an applied update
export const SYNC_STEP1 = 0
export const SYNC_STEP2 = 1
export const SYNC_UPDATE = 2

// Every typed character in the latency scenarios is one CJK ideograph U+4E00 + id: one UTF-16
// unit, three UTF-8 bytes (lead byte E4..E9), so it survives any merge or re-encoding of the
// update as the same three bytes inside a ContentString.
export const MARKER_BASE = 0x4e00
export const MARKER_COUNT = 0x9fff - 0x4e00 + 1 // 20,992 ids
export const markerChar = (id) => String.fromCharCode(MARKER_BASE + id)

/** Scan bytes[start, end) for marker characters; calls onMarker(id) for each one found. */
export function scanMarkers (bytes, start, end, onMarker) {
  const last = end - 2
  for (let i = start; i < last; i++) {
    const b0 = bytes[i]
    if (b0 < 0xe4 || b0 > 0xe9) continue
    const b1 = bytes[i + 1]
    const b2 = bytes[i + 2]
    if ((b1 & 0xc0) !== 0x80 || (b2 & 0xc0) !== 0x80) continue
    const cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)
    if (cp >= MARKER_BASE && cp < MARKER_BASE + MARKER_COUNT) {
      onMarker(cp - MARKER_BASE)
      i += 2
    }
  }
}

// ---- encoding ----

export function varUintLength (n) {
  let len = 1
  while (n > 0x7f) { n = Math.floor(n / 128); len++ }
  return len
}

function writeVarUint (buf, pos, n) {
  while (n > 0x7f) {
    buf[pos++] = 0x80 | (n & 0x7f)
    n = Math.floor(n / 128)
  }
  buf[pos++] = n
  return pos
}

/** Concatenate parts: numbers are written as varUint, Uint8Array as-is, {bytes} as varUint8Array, strings as varString. */
export function encode (...parts) {
  const te = new TextEncoder()
  const chunks = parts.map((p) => {
    if (typeof p === 'number') {
      const b = new Uint8Array(varUintLength(p))
      writeVarUint(b, 0, p)
      return b
    }
    if (typeof p === 'string') p = { bytes: te.encode(p) }
    if (p instanceof Uint8Array) return p
    const b = new Uint8Array(varUintLength(p.bytes.length) + p.bytes.length)
    const pos = writeVarUint(b, 0, p.bytes.length)
    b.set(p.bytes, pos)
    return b
  })
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0))
  let pos = 0
  for (const c of chunks) { out.set(c, pos); pos += c.length }
  return out
}

const EMPTY_STATE_VECTOR = new Uint8Array([0])
const EMPTY_UPDATE = new Uint8Array([0, 0])

/** Frames a light client sends, for one dialect and one pad. */
export function framesFor (dialect, padId) {
  if (dialect === 'hocuspocus') {
    return {
      hello: [
        encode(padId, MSG_AUTH, 0, '', '4.8.0'), // token frame first: the server queues all else until it
        encode(padId, MSG_SYNC, SYNC_STEP1, { bytes: EMPTY_STATE_VECTOR })
      ],
      emptyStep2: encode(padId, MSG_SYNC, SYNC_STEP2, { bytes: EMPTY_UPDATE }),
      update: (u) => encode(padId, MSG_SYNC, SYNC_UPDATE, { bytes: u }),
      // An awareness update listing no clients: counts as traffic for the server's idle timeout,
      // changes nothing, so nothing is broadcast.
      keepAlive: encode(padId, MSG_AWARENESS, { bytes: new Uint8Array([0]) })
    }
  }
  return {
    hello: [encode(MSG_SYNC, SYNC_STEP1, { bytes: EMPTY_STATE_VECTOR })],
    emptyStep2: encode(MSG_SYNC, SYNC_STEP2, { bytes: EMPTY_UPDATE }),
    update: (u) => encode(MSG_SYNC, SYNC_UPDATE, { bytes: u }),
    keepAlive: null
  }
}

// ---- decoding ----

function readVarUint (bytes, pos) {
  let n = 0
  let mult = 1
  for (let i = 0; i < 8; i++) {
    if (pos >= bytes.length) return [-1, pos]
    const b = bytes[pos++]
    n += (b & 0x7f) * mult
    if (b < 0x80) return [n, pos]
    mult *= 128
  }
  return [-1, pos]
}

/**
 * Parse the head of one received frame. Returns {type, sub, start, end}: for sync messages
 * `sub` is step1/step2/update and [start, end) is the payload (state vector or update); for
 * Hocuspocus SyncStatus `sub` is the status. Returns null for frames it cannot read (e.g. the
 * 1-byte Hocuspocus Ping).
 */
export function parseFrame (dialect, bytes) {
  let pos = 0
  let n
  if (dialect === 'hocuspocus') {
    if (bytes.length === 1) return null
    ;[n, pos] = readVarUint(bytes, 0)
    if (n < 0) return null
    pos += n // document name
  }
  let type
  ;[type, pos] = readVarUint(bytes, pos)
  if (type === MSG_SYNC || type === MSG_SYNC_REPLY) {
    let sub, len
    ;[sub, pos] = readVarUint(bytes, pos)
    ;[len, pos] = readVarUint(bytes, pos)
    return { type, sub, start: pos, end: Math.min(bytes.length, pos + len) }
  }
  if (type === MSG_SYNC_STATUS) {
    let status
    ;[status, pos] = readVarUint(bytes, pos)
    return { type, sub: status, start: pos, end: pos }
  }
  return { type, sub: -1, start: pos, end: bytes.length }
}

/** WebSocket frame header size for a payload of len bytes (masked adds 4, client to server). */
export function wsHeaderBytes (len, masked) {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + (masked ? 4 : 0)
}
