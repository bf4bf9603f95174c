// CPU and memory of a process tree, read from /proc (Linux only).
import fs from 'node:fs'

const CLK_TCK = 100 // USER_HZ; 100 on every Linux this runs on (getconf CLK_TCK)

function readStat (pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces: split after the last ')'.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // f[0] is field 3 (state): field N is f[N - 3].
    return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) }
  } catch {
    return null
  }
}

/** pid and all its descendants that are alive now. */
export function processTree (rootPid) {
  const children = new Map()
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const st = readStat(name)
    if (!st) continue
    if (!children.has(st.ppid)) children.set(st.ppid, [])
    children.get(st.ppid).push(Number(name))
  }
  const out = []
  const todo = [rootPid]
  while (todo.length && out.length < 10_000) {
    const p = todo.pop()
    out.push(p)
    for (const c of children.get(p) ?? []) todo.push(c)
  }
  return out
}

/** User + system CPU seconds of the live processes of the tree (threads included). */
export function treeCpuSeconds (rootPid) {
  let ticks = 0
  for (const pid of processTree(rootPid)) {
    const st = readStat(pid)
    if (st) ticks += st.utime + st.stime
  }
  return ticks / CLK_TCK
}

/** Resident set size of the tree in bytes (sum of VmRSS). */
export function treeRssBytes (rootPid) {
  let kb = 0
  for (const pid of processTree(rootPid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (m) kb += Number(m[1])
    } catch {}
  }
  return kb * 1024
}

/** Bytes used on disk under dir (apparent sizes of regular files). */
export function dirBytes (dir) {
  let total = 0
  const walk = (d, depth) => {
    if (depth > 8) return
    let entries
    try { entries = fs.readdirSync(d, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      const p = `${d}/${e.name}`
      if (e.isDirectory()) walk(p, depth + 1)
      else if (e.isFile()) { try { total += fs.statSync(p).size } catch {} }
    }
  }
  walk(dir, 0)
  return total
}

/** CPU time of this whole process (all threads), in seconds. */
export function selfCpuSeconds () {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}
