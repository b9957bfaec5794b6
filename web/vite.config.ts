import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const backend = process.env.CLOUDWINDOW_BACKEND ?? 'http://127.0.0.1:8000'

// Multi-page app: each front end is its own HTML entry; the Python app serves the
// built files from src/cloudwindow/static (/, /console/, /kiosk/, /agent/, /assets/).
export default defineConfig({
  base: '/',
  plugins: [vue()],
  define: {
    // vue-i18n's esm-bundler build expects these compile-time flags.
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  resolve: {
    alias: { '@': here('./src') },
  },
  build: {
    outDir: '../src/cloudwindow/static',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: {
        index: here('./index.html'),
        console: here('./console/index.html'),
        kiosk: here('./kiosk/index.html'),
        agent: here('./agent/index.html'),
        lookup: here('./lookup/index.html'),
      },
    },
  },
  server: {
    proxy: {
      '/api': backend,
      '/healthz': backend,
      '/openapi.json': backend,
      '/ws': { target: backend, ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})
