// The desk freezes Object.prototype (src-tauri/tauri.conf.json, `app.security.freezePrototype`).
// ECharts 5 copies every enumerable name of two of its prototypes onto plain objects when its
// core loads (`mockMethods` in echarts/lib/core/Scheduler.js), `constructor` included: tslib's
// `__extends` makes it an enumerable own property. Assigning `constructor` to a plain object whose
// Object.prototype is frozen throws (strict mode), so the chart module would fail to load in the
// desk. The patch skips `constructor` there (the mocks never call it). The build fails if the code
// is no longer found: after an ECharts upgrade, check whether the patch is still needed.
import type { Plugin } from 'vite'

export const SCHEDULER_FILE = /[\\/]echarts[\\/]lib[\\/]core[\\/]Scheduler\.js$/
export const NEEDLE = 'target[name_1] = noop;'
export const PATCHED = "if (name_1 !== 'constructor') target[name_1] = noop;"

/** The patched source of Scheduler.js; throws if the code to patch is missing. */
export function patchScheduler(code: string, id: string): string {
  if (!code.includes(NEEDLE)) {
    throw new Error(`echarts-frozen-prototype: "${NEEDLE}" not found in ${id}; check ECharts' mockMethods under a frozen Object.prototype`)
  }
  return code.replace(NEEDLE, PATCHED)
}

/** The build's plugin (`vite build`, and Vitest where it transforms ECharts). */
export function echartsFrozenPrototype(): Plugin {
  return {
    name: 'echarts-frozen-prototype',
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0]
      if (!SCHEDULER_FILE.test(file)) return null
      return { code: patchScheduler(code, file), map: null }
    },
  }
}

/** The dev server pre-bundles ECharts with esbuild, past Vite's plugins: patch it there too. */
export const echartsFrozenPrototypeEsbuild = {
  name: 'echarts-frozen-prototype',
  setup(build: {
    onLoad(
      o: { filter: RegExp },
      cb: (a: { path: string }) => Promise<{ contents: string; loader: 'js' }>,
    ): void
  }) {
    build.onLoad({ filter: SCHEDULER_FILE }, async (args) => {
      // No Node typings in this project: the module by name.
      const fsModule = 'node:fs/promises'
      const { readFile } = (await import(/* @vite-ignore */ fsModule)) as {
        readFile: (path: string, encoding: 'utf8') => Promise<string>
      }
      return { contents: patchScheduler(await readFile(args.path, 'utf8'), args.path), loader: 'js' }
    })
  },
}
