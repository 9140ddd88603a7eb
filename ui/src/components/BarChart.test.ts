import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'

// ECharts cannot draw in jsdom: check how the component drives it.
const { chart, init, use } = vi.hoisted(() => {
  const chart = { setOption: vi.fn(), resize: vi.fn(), dispose: vi.fn() }
  return { chart, init: vi.fn((..._args: unknown[]) => chart), use: vi.fn() }
})
vi.mock('echarts/core', () => ({ init, use }))

import BarChart from './BarChart.vue'
import type { BarData } from '../logic/stats'

const data: BarData = { labels: ['县公安局', '县民政局'], values: [92.5, null], valueLabels: ['92.5', '—'] }

beforeEach(() => {
  init.mockClear()
  chart.setOption.mockClear()
  chart.resize.mockClear()
  chart.dispose.mockClear()
  vi.stubGlobal('requestAnimationFrame', (cb: FrameRequestCallback) => setTimeout(() => cb(0), 0) as unknown as number)
  vi.stubGlobal('cancelAnimationFrame', (id: number) => clearTimeout(id))
})
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.replaceChildren()
})

describe('BarChart', () => {
  it('registers only the bar chart, grid, tooltip and canvas renderer', () => {
    // Registered once, when the module loads.
    expect(use).toHaveBeenCalledTimes(1)
    expect(use.mock.calls[0][0]).toHaveLength(4)
  })

  it('draws on a canvas into its box, sized by the number of bars, and describes itself', async () => {
    const w = mount(BarChart, { props: { data, label: '各单位得分' }, attachTo: document.body })
    await flushPromises()
    expect(init).toHaveBeenCalledTimes(1)
    expect(init.mock.calls[0][0]).toBe(w.element)
    expect(init.mock.calls[0][2]).toEqual({ renderer: 'canvas' })
    const option = chart.setOption.mock.calls[0][0]
    expect(option.yAxis.data).toEqual(['县公安局', '县民政局'])
    expect(option.series[0].data).toEqual([92.5, '-'])
    expect(w.attributes('data-rendered')).toBe('true')
    expect(w.attributes('role')).toBe('img')
    expect(w.attributes('aria-label')).toBe('各单位得分：县公安局 92.5，县民政局 —')
    expect((w.element as HTMLElement).style.height).toBe('80px')
    w.unmount()
  })

  it('redraws when the data changes, resizes on window resize, and disposes on unmount', async () => {
    const w = mount(BarChart, { props: { data, label: '各项按时率', max: 100, unit: '%' }, attachTo: document.body })
    await flushPromises()
    expect(chart.setOption.mock.calls[0][0].xAxis.max).toBe(100)
    await w.setProps({ data: { labels: ['A'], values: [50], valueLabels: ['50.0%'] } })
    await flushPromises()
    expect(init).toHaveBeenCalledTimes(1)
    expect(chart.setOption).toHaveBeenCalledTimes(2)
    expect(chart.setOption.mock.calls[1][0].yAxis.data).toEqual(['A'])
    expect(chart.setOption.mock.calls[1][1]).toEqual({ notMerge: true })
    chart.resize.mockClear()

    window.dispatchEvent(new Event('resize'))
    window.dispatchEvent(new Event('resize'))
    await new Promise((r) => setTimeout(r, 5))
    expect(chart.resize).toHaveBeenCalledTimes(1)

    w.unmount()
    expect(chart.dispose).toHaveBeenCalledTimes(1)
    window.dispatchEvent(new Event('resize'))
    await new Promise((r) => setTimeout(r, 5))
    expect(chart.resize).toHaveBeenCalledTimes(1)
  })

  it('stays empty instead of failing where no canvas can be drawn', async () => {
    init.mockImplementationOnce(() => {
      throw new TypeError("Cannot set properties of null (setting 'dpr')")
    })
    const w = mount(BarChart, { props: { data, label: '各单位得分' }, attachTo: document.body })
    await flushPromises()
    expect(w.attributes('data-rendered')).toBe('false')
    window.dispatchEvent(new Event('resize'))
    w.unmount()
    expect(chart.dispose).not.toHaveBeenCalled()
  })
})
