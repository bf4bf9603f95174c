// Two pages, built into dist/, which backend.py serves next to its token endpoint.
import { resolve } from 'node:path'
import { defineConfig } from 'vite'

export default defineConfig({
  base: './',
  build: {
    outDir: resolve(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        'y-websocket': resolve(import.meta.dirname, 'y-websocket.html'),
        hocuspocus: resolve(import.meta.dirname, 'hocuspocus.html')
      }
    }
  }
})
