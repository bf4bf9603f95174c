// Multi-page build into the Python package, so `pip install` of a built tree serves the app too.
import { resolve } from 'node:path'
import { defineConfig } from 'vite'

export default defineConfig({
  // Relative URLs: the server puts <base href="{prefix}/"> in every page, so the app also runs
  // under a path prefix behind a reverse proxy.
  base: './',
  build: {
    outDir: resolve(__dirname, '../src/crdtpad/webapp'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rollupOptions: {
      input: {
        index: resolve(__dirname, 'index.html'),
        pad: resolve(__dirname, 'pad.html'),
        dashboard: resolve(__dirname, 'dashboard.html'),
        admin: resolve(__dirname, 'admin.html'),
        sw: resolve(__dirname, 'src/sw.ts')
      },
      output: {
        // The service worker keeps a fixed name (its scope is the site); everything else is hashed.
        entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js')
      }
    }
  }
})
