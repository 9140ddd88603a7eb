import { describe, expect, it } from 'vitest'
import type { RankedView } from '../api/contract'
import { ranked, statsCell, statsFigures, statsView } from '../test/fixtures'
import {
  ariaSort,
  cellMarks,
  chartRanking,
  countName,
  nextSort,
  periodForKey,
  PERIODS,
  personsHeading,
  rateChart,
  rateName,
  scoreChart,
  sortArrow,
  sortKeyId,
  sortRows,
  sortValue,
  titleLine,
  type SortKey,
  type SortState,
} from './stats'

// Four rows: scores 70 / null / 90 / 70; consultation rates 0.5 / 1 / null / 0.25, counts 4 / 1 / 0 / 8.
const rows: RankedView[] = [
  ranked(1, 'A', 2, statsFigures(70, { consultation: { count: 4, on_time: 1, late: 1 } })),
  ranked(2, 'B', 4, statsFigures(null, { consultation: { count: 1, on_time: 1 } })),
  ranked(3, 'C', 1, statsFigures(90)),
  ranked(4, 'D', 3, statsFigures(70, { consultation: { count: 8, on_time: 1, overdue: 3 } })),
]
const names = (rs: RankedView[]) => rs.map((r) => r.name).join('')

const score: SortKey = { kind: 'score' }
const rank: SortKey = { kind: 'rank' }
const rate: SortKey = { kind: 'rate', dimension: 'consultation' }
const count: SortKey = { kind: 'count', dimension: 'consultation' }

describe('periods', () => {
  it('offers 今日 / 本周 / 本月 / 本季度 on keys 1–4', () => {
    expect(PERIODS.map((p) => p.label)).toEqual(['今日', '本周', '本月', '本季度'])
    expect(['1', '2', '3', '4', '5', 'a'].map(periodForKey)).toEqual(['day', 'week', 'month', 'quarter', null, null])
  })
})

describe('sorting ranked rows', () => {
  it.each<[string, SortState, string]>([
    ['as sent without a sort', null, 'ABCD'],
    ['by rank ascending', { key: rank, dir: 'asc' }, 'CADB'],
    ['by rank descending', { key: rank, dir: 'desc' }, 'BDAC'],
    // Equal scores keep the server's order; the row without a score comes last either way.
    ['by score descending', { key: score, dir: 'desc' }, 'CADB'],
    ['by score ascending', { key: score, dir: 'asc' }, 'ADCB'],
    ['by a rate descending', { key: rate, dir: 'desc' }, 'BADC'],
    ['by a rate ascending', { key: rate, dir: 'asc' }, 'DABC'],
    ['by a count descending', { key: count, dir: 'desc' }, 'DABC'],
    ['by a count ascending', { key: count, dir: 'asc' }, 'CBAD'],
    ['by an unknown dimension (no values: as sent)', { key: { kind: 'rate', dimension: 'nope' }, dir: 'desc' }, 'ABCD'],
  ])('%s', (_, sort, expected) => {
    expect(names(sortRows(rows, sort))).toBe(expected)
  })

  it('does not reorder the given array', () => {
    sortRows(rows, { key: score, dir: 'desc' })
    expect(names(rows)).toBe('ABCD')
  })

  it.each<[SortKey, (number | null)[]]>([
    [rank, [2, 4, 1, 3]],
    [score, [70, null, 90, 70]],
    [rate, [0.5, 1, null, 0.25]],
    [count, [4, 1, 0, 8]],
  ])('reads the value of %o', (key, expected) => {
    expect(rows.map((r) => sortValue(r, key))).toEqual(expected)
  })

  it.each<[string, SortState, SortKey, SortState]>([
    ['a new figures column starts from the best', null, score, { key: score, dir: 'desc' }],
    ['the rank starts from the first', { key: score, dir: 'desc' }, rank, { key: rank, dir: 'asc' }],
    ['the same column flips', { key: score, dir: 'desc' }, score, { key: score, dir: 'asc' }],
    ['and flips back', { key: score, dir: 'asc' }, score, { key: score, dir: 'desc' }],
    ['the count of the same dimension is another column', { key: rate, dir: 'desc' }, count, { key: count, dir: 'desc' }],
    [
      'the rate of another dimension is another column',
      { key: rate, dir: 'desc' },
      { kind: 'rate', dimension: 'reservation' },
      { key: { kind: 'rate', dimension: 'reservation' }, dir: 'desc' },
    ],
  ])('next sort: %s', (_, current, key, expected) => {
    expect(nextSort(current, key)).toEqual(expected)
  })

  it('describes the order for aria-sort and the header arrow', () => {
    const s: SortState = { key: count, dir: 'asc' }
    expect(ariaSort(s, rate, count)).toBe('ascending')
    expect(ariaSort({ key: rate, dir: 'desc' }, rate, count)).toBe('descending')
    expect(ariaSort(s, score)).toBe('none')
    expect(ariaSort(null, score)).toBe('none')
    expect([sortArrow(s, count), sortArrow(s, rate), sortArrow({ key: rate, dir: 'desc' }, rate)]).toEqual(['▲', '', '▼'])
    expect([rank, score, rate, count].map(sortKeyId)).toEqual(['rank', 'score', 'rate:consultation', 'count:consultation'])
  })
})

describe('cells', () => {
  it.each([
    ['consultation', { late: 2, overdue: 1 }, ['late:超时办结 2', 'overdue:已超期未办 1']],
    ['consultation', { late: 0, overdue: 3 }, ['overdue:已超期未办 3']],
    ['evaluation', { late: 1 }, ['late:差评 1']],
    ['reservation', {}, []],
  ])('marks %s %o', (dim, over, expected) => {
    expect(cellMarks(statsCell(dim, over)).map((m) => `${m.kind}:${m.text}`)).toEqual(expected)
  })

  it('names the rate and count of the rating dimension differently', () => {
    expect([rateName('consultation'), rateName('evaluation')]).toEqual(['按时率', '好评率'])
    expect([countName('consultation'), countName('evaluation')]).toEqual(['件数', '评价数'])
  })
})

describe('chart data', () => {
  it('charts the units when there are several, else the persons, else nothing', () => {
    const v = statsView()
    expect(chartRanking(v)).toEqual({ of: 'units', rows: v.units })
    const leader = statsView({ scope: 'unit', units: [v.units[0]] })
    expect(chartRanking(leader)).toEqual({ of: 'persons', rows: v.persons })
    expect(chartRanking(statsView({ scope: 'own', units: [], persons: [v.persons[0]] }))).toBeNull()
  })

  it('gives the scores in rank order, a gap for a row without one, and cuts long rankings', () => {
    const v = statsView()
    expect(scoreChart(v.units)).toEqual({
      labels: ['县公安局', '县民政局', '县市场监督管理局'],
      values: [92.5, 80, null],
      valueLabels: ['92.5', '80.0', '—'],
      truncated: false,
    })
    const many = Array.from({ length: 25 }, (_, i) => ranked(i, `单位${i + 1}`, i + 1, statsFigures(100 - i)))
    const c = scoreChart(many)
    expect(c.labels).toHaveLength(20)
    expect(c.labels[19]).toBe('单位20')
    expect(c.truncated).toBe(true)
  })

  it('gives the total rate per dimension in percent, in the dimensions order', () => {
    const c = rateChart(statsView())
    expect(c.labels).toHaveLength(8)
    expect(c.labels[1]).toBe('咨询业务办理')
    expect(c.values[1]).toBe(75)
    expect(c.valueLabels[1]).toBe('75.0%')
    expect(c.values[5]).toBe(80) // 评议结果管理: 好评率
    expect(c.values[0]).toBeNull() // no figures
    expect(c.valueLabels[0]).toBe('—')
  })

  it('finds the cells by code even when they come in another order', () => {
    const v = statsView()
    v.total.cells.reverse()
    expect(rateChart(v).values[1]).toBe(75)
  })
})

describe('texts', () => {
  it('builds the title line', () => {
    expect(titleLine(statsView())).toEqual({
      heading: '全县考核 · 本月（2026-12-01 至 2026-12-06）',
      generated: '更新于 09:30',
      rule: '评分规则第3版',
    })
  })
  it.each([
    ['own', '我的排名'],
    ['unit', '本单位人员排名'],
    ['all', '人员排名（单位内）'],
  ] as const)('heads the persons of scope %s with %s', (scope, text) => {
    expect(personsHeading(scope)).toBe(text)
  })
})
