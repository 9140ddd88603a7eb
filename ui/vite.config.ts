/// <reference types="vitest" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { echartsFrozenPrototype, echartsFrozenPrototypeEsbuild } from './build/echartsFrozenPrototype'

// Tauri serves the built files from ui/dist; the dev server is used by `tauri dev`.
export default defineConfig({
  // ECharts must load under the desk's frozen Object.prototype (see build/echartsFrozenPrototype.ts).
  plugins: [vue(), echartsFrozenPrototype()],
  optimizeDeps: { esbuildOptions: { plugins: [echartsFrozenPrototypeEsbuild] } },
  clearScreen: false,
  base: './',
  server: { port: 1420, strictPort: true },
  build: {
    outDir: 'dist',
    target: ['es2020', 'chrome105', 'safari15'],
    // No inline assets: keep everything as files so a strict CSP works.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
})
