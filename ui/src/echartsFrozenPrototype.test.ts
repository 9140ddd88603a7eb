// ECharts must load under the desk's frozen Object.prototype (tauri.conf.json freezePrototype):
// the build patches echarts/lib/core/Scheduler.js (build/echartsFrozenPrototype.ts). Checked
// against the installed ECharts, in a separate realm whose Object.prototype is frozen.
import { describe, expect, it } from 'vitest'
import { NEEDLE, PATCHED, patchScheduler } from '../build/echartsFrozenPrototype'

// No Node typings in this project (see styles.test.ts).
declare const __dirname: string
const fsModule = 'node:fs'
const vmModule = 'node:vm'
const { readFileSync } = (await import(/* @vite-ignore */ fsModule)) as {
  readFileSync: (path: string, encoding: 'utf8') => string
}
const { runInNewContext } = (await import(/* @vite-ignore */ vmModule)) as { runInNewContext: (code: string) => unknown }

const file = `${__dirname}/../node_modules/echarts/lib/core/Scheduler.js`
const source = readFileSync(file, 'utf8')

/** `mockMethods` of a Scheduler.js source, run as ECharts runs it: on classes built by tslib. */
function runMockMethods(src: string): unknown {
  const fn = /function mockMethods\(target, Clz\) \{[\s\S]*?\n\}/.exec(src)?.[0]
  expect(fn, 'mockMethods in Scheduler.js').toBeTruthy()
  return runInNewContext(`'use strict';
    Object.freeze(Object.prototype); // what the desk's webview does first
    function noop() {}
    // tslib's __extends, as ECharts' compiled classes use it.
    var extendStatics = function (d, b) { return Object.setPrototypeOf(d, b) };
    function __extends(d, b) {
      extendStatics(d, b);
      function __() { this.constructor = d; }
      d.prototype = b === null ? Object.create(b) : ((__.prototype = b.prototype), new __());
    }
    var Base = (function () { function Base() {} Base.prototype.getOption = function () {}; return Base })();
    var Model = (function (_super) {
      __extends(Model, _super);
      function Model() { return (_super !== null && _super.apply(this, arguments)) || this }
      Model.prototype.eachSeries = function () {};
      return Model;
    })(Base);
    ${fn}
    var target = {};
    mockMethods(target, Model);
    Object.keys(target).sort().join(',');`)
}

describe('ECharts under a frozen Object.prototype', () => {
  it('fails to load as shipped (the reason for the patch)', () => {
    expect(source).toContain(NEEDLE)
    expect(() => runMockMethods(source)).toThrow(/constructor/)
  })

  it('loads once patched, with the same mocks but constructor', () => {
    const patched = patchScheduler(source, file)
    expect(patched).toContain(PATCHED)
    expect(runMockMethods(patched)).toBe('eachSeries,getOption')
  })

  it('stops the build when the code to patch is gone', () => {
    expect(() => patchScheduler('function mockMethods() {}', 'Scheduler.js')).toThrow(/not found/)
  })
})
