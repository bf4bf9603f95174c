// Small shared helpers: clocks, timeouts, percentiles, a seeded PRNG, bounded parallel loops.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Monotonic milliseconds (CLOCK_MONOTONIC): comparable across worker threads and processes. */
export const now = () => Number(process.hrtime.bigint()) / 1e6

/** Reject with a clear message if p has not settled within ms. */
export function withTimeout (p, ms, what) {
  let timer
  return Promise.race([
    p,
    new Promise((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

/** Nearest-rank percentile of an array of numbers (q in 0..100); NaN if empty. */
export function percentile (values, q) {
  if (!values.length) return NaN
  const s = Float64Array.from(values).sort()
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((q / 100) * s.length) - 1))
  return s[rank]
}

export const median = (values) => percentile(values, 50)

/** mulberry32: a small deterministic PRNG so every server gets the same typing history. */
export function prng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Run fn(i) for i in [0, count) with at most `concurrency` in flight, stopping early at
 * `deadline` (a now() value). Returns {done, failed, errors, stoppedEarly}.
 */
export async function boundedFor (count, concurrency, fn, { deadline = Infinity, maxErrors = 20 } = {}) {
  let next = 0
  let done = 0
  let failed = 0
  const errors = []
  let stoppedEarly = false
  const lane = async () => {
    while (next < count) {
      if (now() > deadline) { stoppedEarly = true; return }
      const i = next++
      try {
        await fn(i)
        done++
      } catch (err) {
        failed++
        if (errors.length < maxErrors) errors.push(String(err?.message ?? err))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane))
  return { done, failed, errors, stoppedEarly }
}

export const fmtMs = (v) => (Number.isFinite(v) ? (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) : 'n/a')
