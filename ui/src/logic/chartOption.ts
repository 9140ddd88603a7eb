// The ECharts option of the board's bar charts (horizontal bars, names on the left), kept free of
// ECharts itself so that it can be tested without a canvas.
import type { BarSeriesOption } from 'echarts/charts'
import type { GridComponentOption, TooltipComponentOption } from 'echarts/components'
import type { ComposeOption } from 'echarts/core'
import type { BarData } from './stats'

export type BarOption = ComposeOption<BarSeriesOption | GridComponentOption | TooltipComponentOption>

/** The colours of styles.css (ECharts draws on a canvas and cannot read CSS variables). */
export const CHART_COLORS = {
  text: '#1d2530',
  muted: '#5d6b7a',
  line: '#d5dbe3',
  bar: '#1456a8',
}
const FONT = "'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"

export interface BarOptions {
  /** The value axis' end (100 for percentages); automatic when absent. */
  max?: number
  /** Appended to the value axis' numbers ("%"). */
  unit?: string
  color?: string
}

/** Rich-text tooltips treat `{a|…}` as markup: keep server text literal. */
const literal = (s: string) => s.replace(/[{}|]/g, (c) => ({ '{': '｛', '}': '｝', '|': '｜' })[c] ?? c)

/** Pixels per bar and around them: the chart grows with the ranking instead of squeezing it. */
export function chartHeight(bars: number): number {
  return 24 + Math.max(1, bars) * 28
}

export function barChartOption(data: BarData, opts: BarOptions = {}): BarOption {
  const unit = opts.unit ?? ''
  const labelOf = (i: number) => data.valueLabels[i] ?? '—'
  return {
    animation: false,
    textStyle: { fontFamily: FONT, fontSize: 13, color: CHART_COLORS.text },
    grid: { left: 8, right: 64, top: 8, bottom: 4, containLabel: true },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      // Drawn on the canvas: no HTML (innerHTML, inline styles) that the CSP would block.
      renderMode: 'richText',
      confine: true,
      formatter: (params: unknown) => {
        const p = (Array.isArray(params) ? params[0] : params) as { dataIndex?: number } | undefined
        const i = p?.dataIndex ?? -1
        if (i < 0 || i >= data.labels.length) return ''
        return `${literal(data.labels[i])}：${literal(labelOf(i))}`
      },
    },
    xAxis: {
      type: 'value',
      min: 0,
      max: opts.max,
      axisLabel: { color: CHART_COLORS.muted, formatter: `{value}${unit}` },
      splitLine: { lineStyle: { color: CHART_COLORS.line } },
    },
    yAxis: {
      type: 'category',
      // The first of the ranking on top.
      inverse: true,
      data: data.labels,
      axisTick: { show: false },
      axisLine: { lineStyle: { color: CHART_COLORS.line } },
      axisLabel: { color: CHART_COLORS.text, width: 120, overflow: 'truncate' },
    },
    series: [
      {
        type: 'bar',
        data: data.values.map((v) => (v === null ? '-' : v)),
        barMaxWidth: 18,
        itemStyle: { color: opts.color ?? CHART_COLORS.bar, borderRadius: [0, 3, 3, 0] },
        label: {
          show: true,
          position: 'right',
          color: CHART_COLORS.text,
          formatter: (p: { dataIndex: number }) => labelOf(p.dataIndex),
        },
      },
    ],
  }
}

/** The chart as a sentence for screen readers ("县公安局 92.5，县民政局 80.0"). */
export function chartSummary(data: BarData): string {
  return data.labels.map((l, i) => `${l} ${data.valueLabels[i] ?? '—'}`).join('，')
}
