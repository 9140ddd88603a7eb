// The assessment board (考核统计): periods, sorting of ranked rows, and the charts' data.
import type { CellView, FiguresView, RankedView, StatsPeriod, StatsView } from '../api/contract'

/** The period buttons, in order; `key` selects one while the focus is inside the board. */
export const PERIODS: { period: StatsPeriod; label: string; key: string }[] = [
  { period: 'day', label: '今日', key: '1' },
  { period: 'week', label: '本周', key: '2' },
  { period: 'month', label: '本月', key: '3' },
  { period: 'quarter', label: '本季度', key: '4' },
]

export const DEFAULT_PERIOD: StatsPeriod = 'month'

/** The period a key selects (1–4), or null. */
export function periodForKey(key: string): StatsPeriod | null {
  return PERIODS.find((p) => p.key === key)?.period ?? null
}

/** 评议结果管理 counts ratings, not clocks: its rate is 好评率 and its `late` the 差评. */
export const EVALUATION = 'evaluation'

/** The rate's name in a dimension's column. */
export function rateName(dimension: string): string {
  return dimension === EVALUATION ? '好评率' : '按时率'
}

/** The count's name in a dimension's column. */
export function countName(dimension: string): string {
  return dimension === EVALUATION ? '评价数' : '件数'
}

/** What a cell's `late` counts ("超时" in the tables). */
export function lateName(dimension: string, short = false): string {
  if (dimension === EVALUATION) return '差评'
  return short ? '超时' : '超时办结'
}

export const OVERDUE_NAME = '已超期未办'
export const OVERDUE_SHORT = '超期'

/** The unit of a cell's count: clocks are items (件), ratings are ratings (条). */
export function countUnit(dimension: string): string {
  return dimension === EVALUATION ? '条' : '件'
}

/** The cell of `dimension` in `f` (by code; the cells are in the dimensions' order). */
export function cellFor(f: FiguresView, dimension: string): CellView | null {
  return f.cells.find((c) => c.dimension === dimension) ?? null
}

export interface CellMark {
  kind: 'late' | 'overdue'
  text: string
}

/** The marks of a cell's late and overdue counts ("超时办结 2"), only those above zero. */
export function cellMarks(c: CellView, short = false): CellMark[] {
  const marks: CellMark[] = []
  if (c.late > 0) marks.push({ kind: 'late', text: `${lateName(c.dimension, short)} ${c.late}` })
  if (c.overdue > 0) marks.push({ kind: 'overdue', text: `${short ? OVERDUE_SHORT : OVERDUE_NAME} ${c.overdue}` })
  return marks
}

/** A cell in words, for its tooltip: "按时率 66.7%，共 12 件：按时 8，超时办结 2，已超期未办 1，办理中 1". */
export function cellTitle(c: CellView | null): string {
  if (!c) return '暂无数据'
  const parts = [`${rateName(c.dimension)} ${c.rate_label}，共 ${c.count} ${countUnit(c.dimension)}`]
  const detail =
    c.dimension === EVALUATION
      ? [`好评 ${c.on_time}`, `差评 ${c.late}`]
      : [`按时 ${c.on_time}`, `超时办结 ${c.late}`, `${OVERDUE_NAME} ${c.overdue}`, `办理中 ${c.running}`]
  return `${parts[0]}：${detail.join('，')}`
}

// ---- sorting the ranking tables ----

/** A sortable column: the server's rank, the score, or a dimension's rate or count. */
export type SortKey =
  | { kind: 'rank' }
  | { kind: 'score' }
  | { kind: 'rate'; dimension: string }
  | { kind: 'count'; dimension: string }

export type SortDir = 'asc' | 'desc'

/** A table's order; null: as the server sent the rows (its ranking). */
export type SortState = { key: SortKey; dir: SortDir } | null

/** A stable id of a column ("score", "rate:consultation"), for test ids and comparisons. */
export function sortKeyId(key: SortKey): string {
  return key.kind === 'rate' || key.kind === 'count' ? `${key.kind}:${key.dimension}` : key.kind
}

/** The value a row is sorted by in a column; null when it has none (sorted last). */
export function sortValue(row: RankedView, key: SortKey): number | null {
  switch (key.kind) {
    case 'rank':
      return Number.isFinite(row.rank) ? row.rank : null
    case 'score':
      return typeof row.figures.score === 'number' && Number.isFinite(row.figures.score) ? row.figures.score : null
    case 'rate': {
      const r = cellFor(row.figures, key.dimension)?.rate
      return typeof r === 'number' && Number.isFinite(r) ? r : null
    }
    case 'count': {
      const c = cellFor(row.figures, key.dimension)
      return c ? c.count : null
    }
  }
}

/**
 * The rows in the order of `sort`. Rows without a value come last in either direction; ties keep
 * the server's order. A null `sort` returns the rows as sent. Never changes `rows`.
 */
export function sortRows(rows: RankedView[], sort: SortState): RankedView[] {
  if (!sort) return rows.slice()
  const sign = sort.dir === 'asc' ? 1 : -1
  return rows
    .map((row, i) => ({ row, i, v: sortValue(row, sort.key) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) {
        if (a.v === b.v) return a.i - b.i
        return a.v === null ? 1 : -1
      }
      return (a.v - b.v) * sign || a.i - b.i
    })
    .map((x) => x.row)
}

/** The direction a column starts in: the rank from the first, figures from the best. */
export function defaultDir(key: SortKey): SortDir {
  return key.kind === 'rank' ? 'asc' : 'desc'
}

/** The order after the header of `key` was activated: the same column flips, another starts. */
export function nextSort(current: SortState, key: SortKey): SortState {
  if (current && sortKeyId(current.key) === sortKeyId(key)) {
    return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' }
  }
  return { key, dir: defaultDir(key) }
}

/** The direction of `key` if the table is sorted by it. */
export function sortDirOf(current: SortState, key: SortKey): SortDir | null {
  return current && sortKeyId(current.key) === sortKeyId(key) ? current.dir : null
}

/** `aria-sort` of a header cell whose column (or one of whose columns) is `keys`. */
export function ariaSort(current: SortState, ...keys: SortKey[]): 'ascending' | 'descending' | 'none' {
  for (const k of keys) {
    const dir = sortDirOf(current, k)
    if (dir) return dir === 'asc' ? 'ascending' : 'descending'
  }
  return 'none'
}

/** The arrow shown after a sorted header. */
export function sortArrow(current: SortState, key: SortKey): string {
  const dir = sortDirOf(current, key)
  return dir === 'asc' ? '▲' : dir === 'desc' ? '▼' : ''
}

// ---- charts ----

/** A bar chart's data: one bar per label; a null value has no bar. */
export interface BarData {
  labels: string[]
  values: (number | null)[]
  /** The text at each bar ("76.7", "66.7%", "—"). */
  valueLabels: string[]
}

/** The most bars the ranking chart shows (the rest are in the table). */
export const CHART_LIMIT = 20

/**
 * The ranking to chart: the units when there are several, else the persons when there are
 * several; null when there is nothing to compare (a clerk's own figures).
 */
export function chartRanking(view: StatsView): { of: 'units' | 'persons'; rows: RankedView[] } | null {
  if (view.units.length >= 2) return { of: 'units', rows: view.units }
  if (view.persons.length >= 2) return { of: 'persons', rows: view.persons }
  return null
}

/** The scores of `rows` in the server's ranking order, the first `limit` of them. */
export function scoreChart(rows: RankedView[], limit = CHART_LIMIT): BarData & { truncated: boolean } {
  const shown = rows.slice(0, Math.max(0, limit))
  return {
    labels: shown.map((r) => r.name),
    values: shown.map((r) => (typeof r.figures.score === 'number' && Number.isFinite(r.figures.score) ? round1(r.figures.score) : null)),
    valueLabels: shown.map((r) => r.figures.score_label),
    truncated: rows.length > shown.length,
  }
}

/** The total's rate per dimension in percent (好评率 for 评议结果管理), in the dimensions' order. */
export function rateChart(view: StatsView): BarData {
  const cells = view.dimensions.map((d) => cellFor(view.total, d.code))
  return {
    labels: view.dimensions.map((d) => d.name),
    values: cells.map((c) => (c && typeof c.rate === 'number' && Number.isFinite(c.rate) ? round1(c.rate * 100) : null)),
    valueLabels: cells.map((c) => c?.rate_label ?? '—'),
  }
}

const round1 = (x: number) => Math.round(x * 10) / 10

/** The title line's parts: "全县考核 · 本月（…）", "更新于 09:30", "评分规则第3版". */
export function titleLine(view: StatsView): { heading: string; generated: string; rule: string } {
  return {
    heading: `${view.scope_zh} · ${view.title}`,
    generated: view.generated_at ? `更新于 ${view.generated_at}` : '',
    rule: `评分规则第${view.rule_version}版`,
  }
}

/** The persons table's heading by scope. */
export function personsHeading(scope: StatsView['scope']): string {
  switch (scope) {
    case 'own':
      return '我的排名'
    case 'unit':
      return '本单位人员排名'
    case 'all':
      return '人员排名（单位内）'
  }
}
