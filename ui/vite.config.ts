/// <reference types="vitest" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Tauri serves the built files from ui/dist; the dev server is used by `tauri dev`.
export default defineConfig({
  plugins: [vue()],
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
