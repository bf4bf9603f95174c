// Every page registers the service worker (where the browser allows it: https or localhost).
if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => { void navigator.serviceWorker.register(new URL('sw.js', document.baseURI).href).catch(() => {}) })
}
