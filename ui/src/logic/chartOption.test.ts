import { describe, expect, it } from 'vitest'
import { barChartOption, chartHeight, chartSummary } from './chartOption'
import type { BarData } from './stats'

const data: BarData = { labels: ['县公安局', '县民政局', '{a|x}'], values: [92.5, null, 60], valueLabels: ['92.5', '—', '60.0'] }

// The option as plain objects (ECharts' option types are unions).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const opt = (d: BarData = data, o = {}) => barChartOption(d, o) as any

describe('bar chart option', () => {
  it('draws horizontal bars, the first of the ranking on top, a gap for no value', () => {
    const o = opt()
    expect(o.yAxis).toMatchObject({ type: 'category', inverse: true, data: data.labels })
    expect(o.xAxis).toMatchObject({ type: 'value', min: 0 })
    expect(o.series[0].type).toBe('bar')
    expect(o.series[0].data).toEqual([92.5, '-', 60])
    expect(o.animation).toBe(false)
  })

  it('labels each bar with the server’s text', () => {
    const f = opt().series[0].label.formatter
    expect([0, 1, 2].map((i) => f({ dataIndex: i }))).toEqual(['92.5', '—', '60.0'])
  })

  it('keeps the tooltip on the canvas (no HTML for the CSP) and server text literal', () => {
    const t = opt().tooltip
    expect(t.renderMode).toBe('richText')
    expect(t.formatter([{ dataIndex: 0 }])).toBe('县公安局：92.5')
    expect(t.formatter([{ dataIndex: 2 }])).toBe('｛a｜x｝：60.0')
    expect(t.formatter([{ dataIndex: 7 }])).toBe('')
  })

  it.each([
    [{}, undefined, '{value}'],
    [{ max: 100, unit: '%' }, 100, '{value}%'],
  ])('takes the value axis %o', (o, max, fmt) => {
    const x = opt(data, o).xAxis
    expect(x.max).toBe(max)
    expect(x.axisLabel.formatter).toBe(fmt)
  })

  it('grows with the bars and reads as a sentence', () => {
    expect([0, 1, 8, 20].map(chartHeight)).toEqual([52, 52, 248, 584])
    expect(chartSummary(data)).toBe('县公安局 92.5，县民政局 —，{a|x} 60.0')
  })
})
