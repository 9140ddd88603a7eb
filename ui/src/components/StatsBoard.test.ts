import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'

const invoke = vi.fn()
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))
vi.mock('@tauri-apps/api/event', () => ({ listen: async () => () => {} }))
// jsdom has no canvas: the chart is a stub that shows what it was given.
vi.mock('./BarChart.vue', async () => {
  const { defineComponent, h } = await import('vue')
  return {
    default: defineComponent({
      name: 'BarChart',
      props: ['data', 'label', 'max', 'unit', 'color'],
      setup(p) {
        return () =>
          h('div', {
            class: 'bar-chart',
            'data-testid': 'bar-chart',
            'data-labels': p.data.labels.join('|'),
            'data-values': p.data.values.map((v: number | null) => (v === null ? '-' : v)).join('|'),
            'data-max': p.max ?? '',
          })
      },
    }),
  }
})

import StatsBoard from './StatsBoard.vue'
import type { StatsPeriod, StatsView } from '../api/contract'
import { ranked, statsFigures, statsView } from '../test/fixtures'

let answer: (period: StatsPeriod) => unknown

beforeEach(() => {
  invoke.mockReset()
  answer = (period) => statsView({ period })
  invoke.mockImplementation(async (cmd: string, args?: { req?: { period: StatsPeriod } }) => {
    if (cmd !== 'stats_report') throw { code: 'other', message: `unexpected command ${cmd}` }
    return answer(args!.req!.period)
  })
})
afterEach(() => {
  document.body.replaceChildren()
})

async function mountBoard() {
  const w = mount(StatsBoard, { attachTo: document.body })
  await flushPromises()
  return w
}
const calls = () => invoke.mock.calls.filter((c) => c[0] === 'stats_report').map((c) => c[1].req.period)
const names = (w: VueWrapper, row: string) => w.findAll(`[data-testid="${row}"] .cell-name`).map((c) => c.text())
const key = (el: Element, k: string) => el.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }))

describe('assessment board (考核统计)', () => {
  it('loads 本月 by default and shows the title line, with the focus on its period button', async () => {
    const w = await mountBoard()
    expect(calls()).toEqual(['month'])
    const board = w.get('[data-testid="stats-board"]')
    expect(board.attributes('data-state')).toBe('ready')
    expect(board.attributes('data-scope')).toBe('all')
    expect(w.get('[data-testid="stats-title"]').text()).toBe('全县考核 · 本月（2026-12-01 至 2026-12-06）')
    expect(w.get('[data-testid="stats-generated"]').text()).toBe('更新于 09:30')
    expect(w.get('[data-testid="stats-rule"]').text()).toBe('评分规则第3版')
    const periods = w.findAll('.stats-period')
    expect(periods.map((b) => b.text())).toEqual(['今日 1', '本周 2', '本月 3', '本季度 4'])
    expect(periods.map((b) => b.attributes('aria-pressed'))).toEqual(['false', 'false', 'true', 'false'])
    expect(periods.every((b) => b.element.tagName === 'BUTTON' && b.attributes('type') === 'button')).toBe(true)
    expect(document.activeElement).toBe(w.get('[data-testid="stats-period-month"]').element)
    w.unmount()
  })

  it('sums up the total: score, and per dimension count, rate, mean time and the late / overdue marks', async () => {
    const w = await mountBoard()
    expect(w.get('[data-testid="stats-total-score"]').text()).toBe('81.4')
    const dims = w.findAll('[data-testid="stats-dimension"]')
    expect(dims).toHaveLength(8)
    const consult = w.get('[data-testid="stats-dimension"][data-dimension="consultation"]')
    expect(consult.get('.stats-dim-name').text()).toBe('咨询业务办理')
    expect(consult.get('[data-testid="stats-dim-count"]').text()).toBe('12件')
    expect(consult.get('.stats-dim-rate').text()).toBe('按时率 75.0%')
    expect(consult.get('[data-testid="stats-dim-mean"]').text()).toBe('1小时5分')
    expect(consult.get('[data-testid="stats-mark-late"]').text()).toBe('超时办结 2')
    expect(consult.get('[data-testid="stats-mark-overdue"]').text()).toBe('已超期未办 1')
    expect(consult.get('[data-testid="stats-mark-overdue"]').classes()).toContain('overdue')
    // Ratings: 好评率 and 差评, no working time.
    const evaluation = w.get('[data-testid="stats-dimension"][data-dimension="evaluation"]')
    expect(evaluation.get('.stats-dim-rate').text()).toBe('好评率 80.0%')
    expect(evaluation.get('[data-testid="stats-dim-count"]').text()).toBe('5条')
    expect(evaluation.get('[data-testid="stats-mark-late"]').text()).toBe('差评 1')
    expect(evaluation.find('[data-testid="stats-dim-mean"]').exists()).toBe(false)
    // Nothing late: no marks.
    const publishing = w.get('[data-testid="stats-dimension"][data-dimension="publishing"]')
    expect(publishing.findAll('.stat-mark')).toHaveLength(0)
    expect(publishing.get('.stats-dim-rate').text()).toBe('按时率 —')
    w.unmount()
  })

  it('ranks units and persons in tables with the rank column, each cell with its rate, count and marks', async () => {
    const w = await mountBoard()
    expect(names(w, 'stats-unit-row')).toEqual(['县公安局', '县民政局', '县市场监督管理局'])
    expect(w.findAll('[data-testid="stats-unit-row"]').map((r) => r.get('.cell-rank').text())).toEqual(['1', '2', '3'])
    expect(w.get('#stats-units-heading').text()).toContain('单位排名')
    const persons = w.findAll('[data-testid="stats-person-row"]')
    expect(persons.map((r) => r.attributes('data-id'))).toEqual(['1', '2', '4'])
    expect(persons.map((r) => r.get('[data-testid="stats-row-score"]').text())).toEqual(['95.0', '70.0', '—'])
    const cell = persons[1].get('td[data-dimension="consultation"]')
    expect(cell.get('.cell-rate').text()).toBe('57.1%')
    expect(cell.get('.cell-count').text()).toBe('7件')
    expect(cell.get('[data-testid="stats-mark-overdue"]').text()).toBe('超期 3')
    expect(cell.attributes('title')).toBe('按时率 57.1%，共 7 件：按时 4，超时办结 0，已超期未办 3，办理中 0')
    // Eight dimension columns after 排名 / 姓名 / 得分.
    expect(w.findAll('[data-testid="stats-persons"] thead th')).toHaveLength(11)
    w.unmount()
  })

  it('sorts a table by clicking its headers (buttons, so Enter and Space work too); rows without figures last', async () => {
    const w = await mountBoard()
    const table = w.get('[data-testid="stats-persons"]')
    const header = (id: string) => table.get(`[data-testid="stats-sort-${id}"]`)
    const th = (id: string) => header(id).element.closest('th')!
    expect(header('score').element.tagName).toBe('BUTTON')
    expect(header('score').attributes('type')).toBe('button')

    await header('score').trigger('click')
    expect(names(w, 'stats-person-row')).toEqual(['李明（县公安局）', '王芳', '赵强'])
    expect(th('score').getAttribute('aria-sort')).toBe('descending')
    await header('score').trigger('click')
    expect(names(w, 'stats-person-row')).toEqual(['王芳', '李明（县公安局）', '赵强'])
    expect(th('score').getAttribute('aria-sort')).toBe('ascending')
    expect(header('score').text()).toContain('▲')

    await header('count-consultation').trigger('click')
    expect(names(w, 'stats-person-row')).toEqual(['王芳', '李明（县公安局）', '赵强'])
    expect(th('count-consultation').getAttribute('aria-sort')).toBe('descending')
    expect(th('score').getAttribute('aria-sort')).toBe('none')
    await header('rate-consultation').trigger('click')
    expect(names(w, 'stats-person-row')).toEqual(['李明（县公安局）', '王芳', '赵强'])
    await header('rate-consultation').trigger('click')
    expect(names(w, 'stats-person-row')).toEqual(['王芳', '李明（县公安局）', '赵强'])
    await header('rank').trigger('click')
    expect(names(w, 'stats-person-row')).toEqual(['李明（县公安局）', '王芳', '赵强'])
    // The other table keeps its own order.
    expect(names(w, 'stats-unit-row')).toEqual(['县公安局', '县民政局', '县市场监督管理局'])
    w.unmount()
  })

  it('charts the units scores and the total rates per dimension', async () => {
    const w = await mountBoard()
    const scores = w.get('[data-testid="stats-chart-scores"]')
    expect(scores.attributes('data-of')).toBe('units')
    expect(scores.get('[data-testid="bar-chart"]').attributes('data-labels')).toBe('县公安局|县民政局|县市场监督管理局')
    expect(scores.get('[data-testid="bar-chart"]').attributes('data-values')).toBe('92.5|80|-')
    const rates = w.get('[data-testid="stats-chart-rates"] [data-testid="bar-chart"]')
    expect(rates.attributes('data-labels')!.split('|')).toHaveLength(8)
    expect(rates.attributes('data-values')).toBe('-|75|94.7|-|-|80|-|-')
    expect(rates.attributes('data-max')).toBe('100')
    w.unmount()
  })

  it('shows a clerk their own figures: no units, no ranking chart, the rates chart', async () => {
    const me = ranked(1, '李明', 2, statsFigures(88.0))
    answer = () => statsView({ scope: 'own', scope_zh: '我的考核', units: [], persons: [me] })
    const w = await mountBoard()
    expect(w.get('[data-testid="stats-title"]').text()).toContain('我的考核')
    expect(w.find('[data-testid="stats-units"]').exists()).toBe(false)
    expect(w.get('#stats-persons-heading').text()).toContain('我的排名')
    expect(w.findAll('[data-testid="stats-person-row"]')).toHaveLength(1)
    expect(w.find('[data-testid="stats-chart-scores"]').exists()).toBe(false)
    expect(w.find('[data-testid="stats-chart-rates"]').exists()).toBe(true)
    w.unmount()
  })

  it('charts a leader’s persons (one unit)', async () => {
    answer = () => {
      const v = statsView({ scope: 'unit', scope_zh: '本单位考核' })
      return { ...v, units: [v.units[0]] }
    }
    const w = await mountBoard()
    expect(w.get('[data-testid="stats-chart-scores"]').attributes('data-of')).toBe('persons')
    expect(w.get('#stats-units-heading').text()).toContain('本单位')
    expect(w.get('#stats-persons-heading').text()).toContain('本单位人员排名')
    w.unmount()
  })

  it('switches the period by its buttons, and by 1–4 only while the focus is inside the board', async () => {
    const w = await mountBoard()
    await w.get('[data-testid="stats-period-week"]').trigger('click')
    await flushPromises()
    expect(calls()).toEqual(['month', 'week'])
    expect(w.get('[data-testid="stats-period-week"]').attributes('aria-pressed')).toBe('true')
    expect(w.get('[data-testid="stats-board"]').attributes('data-period')).toBe('week')

    key(w.get('[data-testid="stats-sort-score"]').element, '1')
    await flushPromises()
    expect(calls()).toEqual(['month', 'week', 'day'])
    key(w.get('[data-testid="stats-period-day"]').element, '4')
    await flushPromises()
    expect(calls()).toEqual(['month', 'week', 'day', 'quarter'])
    // Outside the board the digits are not the board's.
    key(document.body, '2')
    await flushPromises()
    expect(calls()).toHaveLength(4)
    // The current period's button loads it again.
    await w.get('[data-testid="stats-period-quarter"]').trigger('click')
    await flushPromises()
    expect(calls()).toEqual(['month', 'week', 'day', 'quarter', 'quarter'])
    w.unmount()
  })

  it('shows loading, and only the answer of the period last chosen', async () => {
    const pending: Record<string, (v: StatsView) => void> = {}
    answer = (period) => new Promise((resolve) => (pending[period] = resolve))
    const w = await mountBoard()
    expect(w.get('[data-testid="stats-board"]').attributes('data-state')).toBe('loading')
    expect(w.get('[data-testid="stats-loading"]').text()).toBe('正在加载考核数据…')
    await w.get('[data-testid="stats-period-week"]').trigger('click')
    pending.week(statsView({ period: 'week', title: '本周（2026-11-30 至 2026-12-06）' }))
    await flushPromises()
    pending.month(statsView())
    await flushPromises()
    expect(w.get('[data-testid="stats-title"]').text()).toContain('本周')
    expect(w.find('[data-testid="stats-loading"]').exists()).toBe(false)
    w.unmount()
  })

  it('shows no figures offline, says why, and retries', async () => {
    let fail = true
    answer = (period) => {
      if (fail) throw { code: 'offline', message: '无法连接服务器' }
      return statsView({ period })
    }
    const w = await mountBoard()
    const board = w.get('[data-testid="stats-board"]')
    expect(board.attributes('data-state')).toBe('error')
    expect(w.get('[data-testid="stats-error"]').text()).toContain('无法连接服务器')
    expect(w.get('[data-testid="stats-error"]').text()).toContain('考核数据只能从服务器获取')
    expect(w.get('[data-testid="stats-error"]').attributes('role')).toBe('alert')
    expect(w.find('[data-testid="stats-total"]').exists()).toBe(false)
    expect(w.find('[data-testid="stats-persons"]').exists()).toBe(false)
    expect(w.find('[data-testid="bar-chart"]').exists()).toBe(false)
    expect(w.get('[data-testid="stats-title"]').text()).toBe('考核统计')

    fail = false
    await w.get('[data-testid="stats-retry"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="stats-error"]').exists()).toBe(false)
    expect(w.get('[data-testid="stats-total-score"]').text()).toBe('81.4')

    // A failure after figures were shown drops them: no stale figures.
    fail = true
    await w.get('[data-testid="stats-period-day"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="stats-total"]').exists()).toBe(false)
    expect(w.get('[data-testid="stats-error"]').text()).toContain('无法连接服务器')
    w.unmount()
  })

  it('offers no retry when the role may not see the board', async () => {
    answer = () => {
      throw { code: 'forbidden', message: '无权查看考核统计' }
    }
    const w = await mountBoard()
    expect(w.get('[data-testid="stats-error"]').text()).toBe('无权查看考核统计')
    expect(w.find('[data-testid="stats-retry"]').exists()).toBe(false)
    w.unmount()
  })

  it('goes back with Esc or 返回办件', async () => {
    const w = await mountBoard()
    key(w.get('[data-testid="stats-period-month"]').element, 'Escape')
    expect(w.emitted('close')).toHaveLength(1)
    await w.get('[data-testid="stats-close"]').trigger('click')
    expect(w.emitted('close')).toHaveLength(2)
    w.unmount()
  })

  it('renders no raw HTML from the server', async () => {
    answer = () => {
      const v = statsView()
      return { ...v, persons: [ranked(9, '<img src=x onerror=alert(1)>', 1, statsFigures(50))] }
    }
    const w = await mountBoard()
    expect(w.find('[data-testid="stats-person-row"] img').exists()).toBe(false)
    expect(w.get('[data-testid="stats-person-row"] .cell-name').text()).toBe('<img src=x onerror=alert(1)>')
    w.unmount()
  })
})
