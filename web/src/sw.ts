// The service worker: a pad opened once opens again offline. Hashed assets are cached for good
// (their names change with their content); pages are fetched from the network first and fall
// back to the copy kept from the last visit. The API and the sync socket are never cached.
const sw = globalThis as unknown as ServiceWorkerGlobalScope

const CACHE = 'crdtpad-v1'
// Paths are relative to the worker's scope: the app may live under a path prefix.
const ROOT = new URL(sw.registration.scope).pathname
const SHELL = [ROOT, `${ROOT}manifest.webmanifest`, `${ROOT}icon.svg`]

sw.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then(async (cache) => await cache.addAll(SHELL)).then(async () => await sw.skipWaiting()))
})

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== CACHE) await caches.delete(key)
    await sw.clients.claim()
  })())
})

function pageKey (url: URL): string {
  // Every /p/{id} page is the same HTML: keep one copy under /p/.
  return url.pathname.startsWith(`${ROOT}p/`) ? `${ROOT}p/` : url.pathname
}

sw.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== sw.location.origin || url.pathname.startsWith(`${ROOT}api/`) || url.pathname.startsWith(`${ROOT}sync/`)) return
  if (url.pathname.startsWith(`${ROOT}assets/`)) {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE)
      const hit = await cache.match(request)
      if (hit) return hit
      const response = await fetch(request)
      if (response.ok) await cache.put(request, response.clone())
      return response
    })())
    return
  }
  if (request.mode === 'navigate') {
    event.respondWith((async () => {
      const cache = await caches.open(CACHE)
      try {
        const response = await fetch(request)
        if (response.ok) await cache.put(pageKey(url), response.clone())
        return response
      } catch {
        return (await cache.match(pageKey(url))) ?? (await cache.match(ROOT)) ?? Response.error()
      }
    })())
  }
})
