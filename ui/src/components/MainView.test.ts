import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'

const invoke = vi.fn()
const listeners = new Map<string, (e: { payload: unknown }) => void>()
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))
vi.mock('@tauri-apps/api/event', () => ({
  listen: async (name: string, h: (e: { payload: unknown }) => void) => {
    listeners.set(name, h)
    return () => listeners.delete(name)
  },
}))
// jsdom cannot draw the board's charts (ECharts on a canvas).
vi.mock('./BarChart.vue', async () => {
  const { defineComponent, h } = await import('vue')
  return { default: defineComponent({ name: 'BarChart', props: ['data', 'label', 'max', 'unit', 'color'], setup: () => () => h('div', { class: 'bar-chart' }) }) }
})

import MainView from './MainView.vue'
import { agentSession, counterIdle, delegatedDetail, detail, row, session, settings, status, statsView } from '../test/fixtures'
import { placeKey } from '../logic/delegation'
import { defaultHandlers, routeInvoke, type Handler } from '../test/mockShell'

let handlers: Record<string, Handler>
const emitEvent = (name: string, payload: unknown) => listeners.get(name)!({ payload })

beforeEach(() => {
  invoke.mockReset()
  listeners.clear()
  handlers = defaultHandlers()
  handlers.queue = () => [row({ id: 'a', number: 'N1' }), row({ id: 'b', number: 'N2' }), row({ id: 'c', number: 'N3' })]
  handlers.item = (req) => detail({ id: (req as { id: string }).id })
  routeInvoke(invoke, handlers)
})
afterEach(() => {
  document.body.replaceChildren()
})

async function mountMain() {
  const w = mount(MainView, { props: { session: session() }, attachTo: document.body })
  await flushPromises()
  return w
}

const key = (k: string, init: KeyboardEventInit = {}) =>
  window.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, ...init }))

describe('main screen', () => {
  it('shows status, pending count, away banner and calendar warning from desk://status', async () => {
    const w = await mountMain()
    emitEvent('desk://status', status({ online: false, pending: 3, away: true, calendar_warning_year: 2027 }))
    await flushPromises()
    expect(w.get('[data-testid="status-online"]').attributes('data-online')).toBe('false')
    expect(w.get('[data-testid="status-endpoint"]').text()).toBe('离线')
    expect(w.get('[data-testid="status-pending"]').text()).toBe('3')
    expect(w.text()).toContain('您已暂离，预约将转给B岗')
    expect(w.text()).toContain('2027年节假日安排尚未发布，相关期限为暂定')
    w.unmount()
  })

  it('keeps the newer status when the answer to get_status arrives after an event (regression: window test never saw synced)', async () => {
    let answer: (s: unknown) => void = () => {}
    handlers.get_status = () => new Promise((resolve) => (answer = resolve))
    const w = mount(MainView, { props: { session: session() }, attachTo: document.body })
    await flushPromises()
    // The first snapshot completes: the event overtakes the answer built before it.
    emitEvent('desk://status', status({ last_sync: '2026-11-30T01:05:00Z', revision: 5 }))
    answer(status({ last_sync: null, revision: 4 }))
    await flushPromises()
    expect(w.get('[data-testid="status-online"]').attributes('data-synced')).toBe('true')
    // A newer answer still replaces an older event.
    emitEvent('desk://status', status({ pending: 2, revision: 6 }))
    await flushPromises()
    expect(w.get('[data-testid="status-pending"]').text()).toBe('2')
    w.unmount()
  })

  it('switches views with F-keys and opens rows with the keyboard', async () => {
    const w = await mountMain()
    key('F5')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('queue', { req: { view: 'reservation', search: null, include_closed: false } })
    expect(w.get('[data-testid="queue-tab-reservation"]').classes()).toContain('active')
    key('ArrowDown')
    key('ArrowDown')
    await flushPromises()
    ;(w.get('[data-testid="queue-search"]').element as HTMLInputElement).focus()
    w.get('[data-testid="queue-search"]').element.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('item', { req: { id: 'c' } })
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('c')
    w.unmount()
  })

  it('opens the highlighted row with Enter after F5, wherever the focus was (issue 13)', async () => {
    const w = await mountMain()
    key('F5')
    await flushPromises()
    key('ArrowDown')
    await flushPromises()
    // Focus on the page itself (the list re-rendered under it) or in the list: Enter opens.
    ;(document.activeElement as HTMLElement | null)?.blur()
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await flushPromises()
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('b')
    w.unmount()
  })

  it('opened from the keyboard, an item has its first action focused, so Enter goes on with the work', async () => {
    handlers.item = (req) => detail({ id: (req as { id: string }).id, allowed_actions: ['accept_reservation', 'reject_reservation'] })
    const w = await mountMain()
    key('F5')
    await flushPromises()
    // The key goes to what has the focus: after F5, the list's row.
    expect(w.get('[data-queue-list]').element.contains(document.activeElement)).toBe(true)
    document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await flushPromises()
    expect(document.activeElement?.getAttribute('data-testid')).toBe('action-accept_reservation')
    w.unmount()
  })

  it('moves the focus into the list on an F-key view switch', async () => {
    const w = await mountMain()
    key('F6')
    await flushPromises()
    expect(w.get('[data-queue-list]').element.contains(document.activeElement)).toBe(true)
    w.unmount()
  })

  it('withdraws the banner entries of reservations handled elsewhere', async () => {
    const w = await mountMain()
    emitEvent('desk://alert', { item_id: 'a', item_number: 'N1', kind: 'reservation_new', text: '新预约 N1' })
    emitEvent('desk://alert', { item_id: 'b', item_number: 'N2', kind: 'reservation_new', text: '新预约 N2' })
    await flushPromises()
    expect(w.get('[data-testid="alert-group"]').attributes('data-count')).toBe('2')
    emitEvent('desk://alert-withdrawn', { item_ids: ['b'] })
    await flushPromises()
    expect(w.get('[data-testid="alert-group"]').attributes('data-count')).toBe('1')
    expect(w.get('[data-testid="alert-banner"]').text()).toContain('N1')
    emitEvent('desk://alert-withdrawn', { item_ids: ['a'] })
    await flushPromises()
    expect(w.find('[data-testid="alert-group"]').exists()).toBe(false)
    w.unmount()
  })

  it('gives a role without a counter (督查人员) no call panel, no 暂离 and no F9, and starts on 全部', async () => {
    const inspector = session({
      user: { ...session().user, role: 'inspector', role_name: '督查人员', workspace: 'supervision', has_counter: false },
    })
    const w = mount(MainView, { props: { session: inspector }, attachTo: document.body })
    await flushPromises()
    expect(w.find('[data-testid="counter-call-next"]').exists()).toBe(false)
    expect(w.find('[data-testid="away-toggle"]').exists()).toBe(false)
    expect(invoke.mock.calls.filter((c) => c[0] === 'counter_state')).toHaveLength(0)
    expect(invoke).toHaveBeenCalledWith('queue', { req: { view: 'all', search: null, include_closed: false } })
    expect(w.text()).not.toContain('F9 叫号')
    key('F9')
    await flushPromises()
    expect(invoke.mock.calls.filter((c) => c[0] === 'counter_call_next')).toHaveLength(0)
    w.unmount()
  })

  it('focuses the search box with / and Ctrl+F', async () => {
    const w = await mountMain()
    key('/')
    expect(document.activeElement).toBe(w.get('[data-testid="queue-search"]').element)
    ;(document.activeElement as HTMLElement).blur()
    key('f', { ctrlKey: true })
    expect(document.activeElement).toBe(w.get('[data-testid="queue-search"]').element)
    w.unmount()
  })

  it('shows a red alert banner that opens the item, and beeps without crashing', async () => {
    const w = await mountMain()
    emitEvent('desk://alert', { item_id: 'b', item_number: 'N2', kind: 'reservation_new', text: '新预约 N2：请在1个工作小时内处理' })
    await flushPromises()
    expect(w.get('[data-testid="alert-banner"]').text()).toContain('新预约 N2')
    await w.get('[data-testid="alert-open"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="alert-banner"]').exists()).toBe(false)
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('b')
    w.unmount()
  })

  it('shows only the newest alert with a count of the others, expands and dismisses them', async () => {
    const w = await mountMain()
    const alert = (id: string, n: string) => ({ item_id: id, item_number: n, kind: 'reservation_new', text: `新预约 ${n}` })
    emitEvent('desk://alert', alert('a', 'N1'))
    emitEvent('desk://alert', alert('b', 'N2'))
    emitEvent('desk://alert', alert('c', 'N3'))
    await flushPromises()
    let banners = w.findAll('[data-testid="alert-banner"]')
    // One element per alert, newest first in DOM order; only the newest is visible.
    expect(banners.map((b) => b.attributes('data-item-id'))).toEqual(['c', 'b', 'a'])
    expect(banners.map((b) => b.isVisible())).toEqual([true, false, false])
    expect(w.get('[data-testid="alert-banner"]').text()).toContain('新预约 N3')
    const more = w.get('[data-testid="alert-more"]')
    expect(more.text()).toBe('另有 2 条提醒')
    expect(more.attributes('aria-expanded')).toBe('false')
    // The same alert again replaces the old one and becomes the newest.
    emitEvent('desk://alert', { ...alert('a', 'N1'), text: '新预约 N1（再次提醒）' })
    await flushPromises()
    banners = w.findAll('[data-testid="alert-banner"]')
    expect(banners.map((b) => b.attributes('data-item-id'))).toEqual(['a', 'c', 'b'])
    expect(banners[0].text()).toContain('再次提醒')

    await more.trigger('click')
    banners = w.findAll('[data-testid="alert-banner"]')
    expect(banners.every((b) => b.isVisible())).toBe(true)
    expect(w.get('[data-testid="alert-more"]').text()).toBe('收起')
    // Dismissing one keeps the others; the next newest moves up.
    await banners[0].get('[data-testid="alert-dismiss"]').trigger('click')
    banners = w.findAll('[data-testid="alert-banner"]')
    expect(banners.map((b) => b.attributes('data-item-id'))).toEqual(['c', 'b'])
    await w.get('[data-testid="alert-dismiss-all"]').trigger('click')
    expect(w.find('[data-testid="alert-banner"]').exists()).toBe(false)
    expect(w.find('[data-testid="alert-more"]').exists()).toBe(false)
    w.unmount()
  })

  it('styles the alert buttons for the red banner (not inherited white on white)', async () => {
    const w = await mountMain()
    emitEvent('desk://alert', { item_id: 'a', item_number: 'N1', kind: 'ladder_b', text: '提醒 N1' })
    await flushPromises()
    expect(w.get('[data-testid="alert-open"]').classes()).toContain('on-alert')
    expect(w.get('[data-testid="alert-dismiss"]').classes()).toContain('on-alert-ghost')
    expect(w.find('[data-testid="alert-more"]').exists()).toBe(false)
    w.unmount()
  })

  it('opens a queue row through the 编号 button in its first cell', async () => {
    const w = await mountMain()
    const rows = w.findAll('[data-testid="queue-row"]')
    expect(rows).toHaveLength(3)
    for (const r of rows) {
      const first = r.get('td')
      const btn = first.get('[data-testid="queue-open"]')
      expect(btn.element.tagName).toBe('BUTTON')
      expect(btn.attributes('type')).toBe('button')
      expect(btn.text()).toBe(r.attributes('data-number'))
    }
    // Only one button is in the tab order (roving tabindex).
    expect(w.findAll('[data-testid="queue-open"]').map((b) => b.attributes('tabindex'))).toEqual(['0', '-1', '-1'])
    await rows[1].get('[data-testid="queue-open"]').trigger('click')
    await flushPromises()
    expect(invoke.mock.calls.filter((c) => c[0] === 'item')).toEqual([['item', { req: { id: 'b' } }]])
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('b')
    expect(rows[1].attributes('data-highlighted')).toBe('true')
    expect(w.findAll('[data-testid="queue-open"]').map((b) => b.attributes('tabindex'))).toEqual(['-1', '0', '-1'])
    // Row clicks still work too.
    await rows[2].trigger('click')
    await flushPromises()
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('c')
    w.unmount()
  })

  it('moves focus between the row buttons with the arrow keys and opens with Enter', async () => {
    const w = await mountMain()
    const buttons = () => w.findAll('[data-testid="queue-open"]').map((b) => b.element as HTMLButtonElement)
    buttons()[0].focus()
    await flushPromises()
    buttons()[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }))
    await flushPromises()
    expect(document.activeElement).toBe(buttons()[1])
    buttons()[1].dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await flushPromises()
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('b')
    w.unmount()
  })

  it('turns 开机自启动 on and off from the 设置 popover', async () => {
    let autostart = false
    handlers.get_settings = () => settings({ autostart })
    handlers.set_autostart = (req) => {
      autostart = (req as { enabled: boolean }).enabled
      return settings({ autostart })
    }
    const w = await mountMain()
    expect(w.find('[data-testid="autostart-toggle"]').exists()).toBe(false)
    await w.get('[data-testid="settings-toggle"]').trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('get_settings', {})
    const box = () => w.get('[data-testid="autostart-toggle"]')
    expect((box().element as HTMLInputElement).checked).toBe(false)
    await box().setValue(true)
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('set_autostart', { req: { enabled: true } })
    expect((box().element as HTMLInputElement).checked).toBe(true)
    expect(w.text()).toContain('已开启开机自启动')
    await box().setValue(false)
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('set_autostart', { req: { enabled: false } })
    expect(autostart).toBe(false)
    // Esc closes the popover.
    await box().trigger('keydown', { key: 'Escape' })
    expect(w.find('[data-testid="autostart-toggle"]').exists()).toBe(false)
    w.unmount()
  })

  it('shows the error and the real state when autostart cannot be changed', async () => {
    handlers.get_settings = () => settings({ autostart: false })
    handlers.set_autostart = () => {
      throw { code: 'other', message: '无法设置开机自启动' }
    }
    const w = await mountMain()
    await w.get('[data-testid="settings-toggle"]').trigger('click')
    await flushPromises()
    await w.get('[data-testid="autostart-toggle"]').setValue(true)
    await flushPromises()
    expect(w.get('[data-testid="settings-error"]').text()).toBe('无法设置开机自启动')
    expect((w.get('[data-testid="autostart-toggle"]').element as HTMLInputElement).checked).toBe(false)
    w.unmount()
  })

  it('lists rejections from start and events, and dismisses them', async () => {
    const rej = (id: string) => ({
      mutation_id: id,
      item_id: 'a',
      item_number: 'N1',
      op_type: 'claim',
      code: 'invalid_state',
      message: '已由他人认领',
      at: '2026-12-01T01:00:00Z',
    })
    handlers.rejections = () => [rej('m1')]
    handlers.dismiss_rejection = () => null
    const w = await mountMain()
    emitEvent('desk://rejected', rej('m2'))
    await flushPromises()
    const notes = w.findAll('[data-testid="rejection-notice"]')
    expect(notes).toHaveLength(2)
    expect(notes[0].text()).toContain('服务器拒绝了您的操作，已撤销：N1 已由他人认领')
    await notes[0].get('button').trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('dismiss_rejection', { req: { mutation_id: 'm2' } })
    expect(w.findAll('[data-testid="rejection-notice"]')).toHaveLength(1)
    w.unmount()
  })

  it('calls the next ticket with F9 and opens its item', async () => {
    handlers.counter_call_next = () => ({
      serving: { ticket_no: 'Y003', kind: 'reservation', item_id: 'a', item_number: 'N1', slot: null, issued_at: '2026-12-01T01:00:00Z' },
      serving_started: false,
      waiting: [],
      suspended: [],
      called_today: 1,
      window_no: 3,
    })
    const w = await mountMain()
    key('F9')
    await flushPromises()
    expect(w.get('[data-testid="counter-serving"]').text()).toContain('Y003')
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('a')
    expect(w.get('[data-testid="counter-window-no"]').text()).toBe('3号窗口')
    w.unmount()
  })

  it('sets the window number, refusing one out of range before asking the shell', async () => {
    handlers.set_window_no = (req) => ({ ...counterIdle(), window_no: (req as { window_no: number }).window_no })
    const w = await mountMain()
    expect(w.get('[data-testid="counter-window-no"]').text()).toBe('未设置窗口号')
    await w.get('[data-testid="counter-window-edit"]').trigger('click')
    await w.get('[data-testid="counter-window-input"]').setValue('120')
    await w.get('[data-testid="counter-window-save"]').trigger('submit')
    expect(w.text()).toContain('窗口号应为 1 到 99 之间的数字')
    expect(invoke.mock.calls.filter((c) => c[0] === 'set_window_no')).toHaveLength(0)
    await w.get('[data-testid="counter-window-input"]').setValue('3')
    await w.get('[data-testid="counter-window-save"]').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('set_window_no', { req: { window_no: 3 } })
    expect(w.get('[data-testid="counter-window-no"]').text()).toBe('3号窗口')
    w.unmount()
  })

  it('suspends the ticket served, offers to resume it by number, and calls a number out of turn (指呼)', async () => {
    const w001 = { ticket_no: 'W001', kind: 'walk_in' as const, item_id: null, item_number: null, slot: null, issued_at: '2026-12-01T01:00:00Z' }
    handlers.counter_state = () => ({ ...counterIdle(), serving: w001, serving_started: true })
    handlers.counter_suspend = () => ({ ...counterIdle(), suspended: [w001] })
    handlers.counter_resume = () => ({ ...counterIdle(), serving: w001, serving_started: true })
    handlers.counter_call_number = (req) => ({
      ...counterIdle(),
      serving: { ...w001, ticket_no: (req as { ticket_no: string }).ticket_no },
    })
    const w = await mountMain()
    expect(w.find('[data-testid="counter-start"]').exists()).toBe(false)
    await w.get('[data-testid="counter-suspend"]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid="counter-serving"]').text()).toContain('当前无人办理')
    await w.get('[data-testid="counter-resume-W001"]').trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('counter_resume', { req: { ticket_no: 'W001' } })
    expect(w.get('[data-testid="counter-serving"]').text()).toContain('正在办理：W001')

    await w.get('[data-testid="counter-call-number"]').trigger('click')
    await w.get('[data-testid="counter-number-input"]').setValue('w7')
    await w.get('[data-testid="counter-number-call"]').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('counter_call_number', { req: { ticket_no: 'W007' } })
    expect(w.get('[data-testid="counter-serving"]').text()).toContain('已呼叫：W007')
    expect(w.find('[data-testid="counter-start"]').exists()).toBe(true)
    w.unmount()
  })

  it('returns to login when the session ends', async () => {
    const w = await mountMain()
    emitEvent('desk://session-ended', { reason: '登录已过期，请重新登录' })
    await flushPromises()
    expect(w.emitted('logged-out')?.[0]).toEqual(['登录已过期，请重新登录'])
    w.unmount()
  })
})

describe('agent workspace (代办员工作台)', () => {
  const matters = [
    { id: 7, code: 'GA-001', name: '户籍迁入', promised_days: 5, materials: ['居民身份证', '户口簿', '准迁证'], fee_fen: 0 },
    { id: 9, code: 'MZ-003', name: '高龄津贴申领', promised_days: 10, materials: ['居民身份证'], fee_fen: 0 },
  ]
  beforeEach(() => {
    localStorage.clear()
    URL.createObjectURL = vi.fn(() => 'blob:test/1')
    URL.revokeObjectURL = vi.fn()
    handlers.matters = () => matters
    handlers.attachment = () => new Uint8Array([1]).buffer
    handlers.register_case = () => delegatedDetail({ id: 'new1', number: 'DB20261201-0001' })
  })

  async function mountAgent() {
    const w = mount(MainView, { props: { session: agentSession() }, attachTo: document.body })
    await flushPromises()
    return w
  }
  const calls = (cmd: string) => invoke.mock.calls.filter((c) => c[0] === cmd)

  it('has no counter panel and offers registration instead of 本单位', async () => {
    const w = await mountAgent()
    expect(w.find('[data-testid="counter-call-next"]').exists()).toBe(false)
    expect(calls('counter_state')).toHaveLength(0)
    expect(w.find('[data-testid="queue-tab-unit"]').exists()).toBe(false)
    expect(w.get('[data-testid="queue-tab-mine"]').text()).toContain('我的代办')
    expect(w.get('[data-testid="agent-register"]').text()).toContain('登记代办件')
    expect(invoke).toHaveBeenCalledWith('queue', { req: { view: 'mine', search: null, include_closed: false } })
    // F9 does nothing for agents.
    key('F9')
    await flushPromises()
    expect(calls('counter_call_next')).toHaveLength(0)
    w.unmount()
  })

  it('opens the form with F2, validates it, and registers the case with the right request', async () => {
    const w = await mountAgent()
    key('F2')
    await flushPromises()
    expect(w.find('[data-testid="case-form"]').exists()).toBe(true)
    expect(document.activeElement).toBe(w.get('[data-testid="case-matter"]').element)
    expect(calls('matters')).toHaveLength(1)
    expect(w.findAll('[data-testid="case-matter"] option').map((o) => o.text())).toEqual(['请选择事项', '户籍迁入', '高龄津贴申领'])

    await w.get('[data-testid="case-form"]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="case-error-matter"]').text()).toBe('请选择办理事项')
    expect(w.get('[data-testid="case-error-name"]').text()).toBe('请填写群众姓名')
    expect(w.get('[data-testid="case-error-id-number"]').text()).toBe('请填写身份证号')
    expect(w.get('[data-testid="case-error-phone"]').text()).toBe('请填写联系电话')
    expect(w.get('[data-testid="case-error-place"]').text()).toBe('请填写收件村（社区）')
    expect(document.activeElement).toBe(w.get('[data-testid="case-matter"]').element)
    expect(calls('register_case')).toHaveLength(0)

    await w.get('[data-testid="case-matter"]').setValue(7)
    expect(w.get('[data-testid="case-matter-info"]').text()).toContain('居民身份证、户口簿、准迁证')
    await w.get('[data-testid="case-name"]').setValue(' 张三 ')
    await w.get('[data-testid="case-id-number"]').setValue('1304001990010112')
    await w.get('[data-testid="case-phone"]').setValue('138-0000-000a')
    await w.get('[data-testid="case-place"]').setValue('东关村')
    await w.get('[data-testid="case-content"]').setValue('行动不便，委托代办')
    await w.get('[data-testid="case-submit"]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="case-error-phone"]').text()).toBe('联系电话只能填写数字')
    expect(w.find('[data-testid="case-error-name"]').exists()).toBe(false)
    expect(w.get('[data-testid="case-error-id-number"]').text()).toBe('证件号码应为18位，当前为16位')

    // Corrected, it registers.
    await w.get('[data-testid="case-phone"]').setValue('13800000000')
    await w.get('[data-testid="case-id-number"]').setValue('130400199001011230')
    await w.get('[data-testid="case-form"]').trigger('submit')
    await flushPromises()
    expect(calls('register_case')).toEqual([
      [
        'register_case',
        {
          req: {
            matter_id: 7,
            applicant: { name: '张三', id_number: '130400199001011230', phone: '13800000000' },
            content: '行动不便，委托代办',
            place: '东关村',
          },
        },
      ],
    ])
    w.unmount()
  })

  it('registers a valid case at once, opens it and remembers the village', async () => {
    const w = await mountAgent()
    await w.get('[data-testid="agent-register"]').trigger('click')
    await flushPromises()
    await w.get('[data-testid="case-matter"]').setValue(9)
    await w.get('[data-testid="case-name"]').setValue('李四')
    await w.get('[data-testid="case-id-number"]').setValue('11010519491231002X')
    await w.get('[data-testid="case-phone"]').setValue('0311 8888 6666')
    await w.get('[data-testid="case-place"]').setValue('西岭村')
    await w.get('[data-testid="case-form"]').trigger('submit')
    await flushPromises()
    expect(calls('register_case')[0][1]).toEqual({
      req: { matter_id: 9, applicant: { name: '李四', id_number: '11010519491231002X', phone: '031188886666' }, content: '', place: '西岭村' },
    })
    expect(w.find('[data-testid="case-form"]').exists()).toBe(false)
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('new1')
    expect(w.get('[data-testid="detail-number"]').text()).toBe('DB20261201-0001')
    expect(localStorage.getItem(placeKey(21))).toBe('西岭村')
    // Next time the village is already filled in.
    key('F2')
    await flushPromises()
    expect((w.get('[data-testid="case-place"]').element as HTMLInputElement).value).toBe('西岭村')
    w.unmount()
  })

  it('shows the shell error, keeps the form, and Esc cancels', async () => {
    handlers.register_case = () => {
      throw { code: 'invalid_field', message: '该事项不接受代办' }
    }
    const w = await mountAgent()
    key('F2')
    await flushPromises()
    await w.get('[data-testid="case-matter"]').setValue(7)
    await w.get('[data-testid="case-name"]').setValue('张三')
    await w.get('[data-testid="case-id-number"]').setValue('11010519491231002X')
    await w.get('[data-testid="case-phone"]').setValue('13800000000')
    await w.get('[data-testid="case-place"]').setValue('东关村')
    await w.get('[data-testid="case-form"]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="case-submit-error"]').text()).toBe('该事项不接受代办')
    expect((w.get('[data-testid="case-name"]').element as HTMLInputElement).value).toBe('张三')
    expect(localStorage.getItem(placeKey(21))).toBeNull()
    await w.get('[data-testid="case-name"]').trigger('keydown', { key: 'Escape' })
    expect(w.find('[data-testid="case-form"]').exists()).toBe(false)
    w.unmount()
  })

  it('keeps what was typed while the agent looks at a case', async () => {
    const w = await mountAgent()
    key('F2')
    await flushPromises()
    await w.get('[data-testid="case-name"]').setValue('王五')
    await w.findAll('[data-testid="queue-open"]')[1].trigger('click')
    await flushPromises()
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('b')
    expect(w.get('[data-testid="case-form"]').isVisible()).toBe(false)
    key('F2')
    await flushPromises()
    expect(w.get('[data-testid="case-form"]').isVisible()).toBe(true)
    expect((w.get('[data-testid="case-name"]').element as HTMLInputElement).value).toBe('王五')
    w.unmount()
  })

  it('refuses a wrong check digit as the server would, and registers the corrected number', async () => {
    const w = await mountAgent()
    key('F2')
    await flushPromises()
    await w.get('[data-testid="case-matter"]').setValue(7)
    await w.get('[data-testid="case-name"]').setValue('张三')
    await w.get('[data-testid="case-id-number"]').setValue('130400199001011234')
    await w.get('[data-testid="case-phone"]').setValue('13800000000')
    await w.get('[data-testid="case-place"]').setValue('东关村')
    await w.get('[data-testid="case-form"]').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="case-error-id-number"]').text()).toBe('证件号码校验位不符，请核对是否录错')
    expect(calls('register_case')).toHaveLength(0)
    expect(document.activeElement).toBe(w.get('[data-testid="case-id-number"]').element)
    await w.get('[data-testid="case-id-number"]').setValue('130400199001011230')
    // Ctrl+Enter submits from any field; the corrected number passes.
    await w.get('[data-testid="case-id-number"]').trigger('keydown', { key: 'Enter', ctrlKey: true })
    await flushPromises()
    expect(calls('register_case')[0][1]).toMatchObject({ req: { applicant: { id_number: '130400199001011230' } } })
    w.unmount()
  })

  it('shows a matters error with a retry', async () => {
    let fail = true
    handlers.matters = () => {
      if (fail) throw { code: 'offline', message: '离线，事项目录尚未同步' }
      return matters
    }
    const w = await mountAgent()
    key('F2')
    await flushPromises()
    expect(w.get('[data-testid="case-matters-error"]').text()).toBe('离线，事项目录尚未同步')
    fail = false
    await w.get('[data-testid="case-matters-retry"]').trigger('click')
    await flushPromises()
    expect(w.findAll('[data-testid="case-matter"] option')).toHaveLength(3)
    w.unmount()
  })

  it('leaves F2 as 本单位 for window clerks', async () => {
    const w = await mountMain()
    expect(w.find('[data-testid="agent-register"]').exists()).toBe(false)
    key('F2')
    await flushPromises()
    expect(w.find('[data-testid="case-form"]').exists()).toBe(false)
    expect(w.get('[data-testid="queue-tab-unit"]').classes()).toContain('active')
    w.unmount()
  })
})

describe('assessment board (考核统计) in the main screen', () => {
  const statsCalls = () => invoke.mock.calls.filter((c) => c[0] === 'stats_report')
  const inspector = () =>
    session({ user: { ...session().user, role: 'inspector', role_name: '督查人员', workspace: 'supervision', has_counter: false } })
  // The board is loaded when first opened (its own chunk): have the module ready.
  beforeAll(async () => {
    await import('./StatsBoard.vue')
  })
  beforeEach(() => {
    handlers.stats_report = (req) => statsView({ period: (req as { period: 'month' }).period })
  })
  /** Let the lazily loaded board appear and load its figures. */
  const settle = async () => {
    await flushPromises()
    await new Promise((r) => setTimeout(r, 0))
    await flushPromises()
  }

  it('opens from the 考核统计 button in place of the queue, and Esc goes back to the queue as it was', async () => {
    const w = await mountMain()
    await w.findAll('[data-testid="queue-open"]')[1].trigger('click')
    await flushPromises()
    const toggle = w.get('[data-testid="stats-toggle"]')
    expect(toggle.attributes('aria-pressed')).toBe('false')
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(false)

    await toggle.trigger('click')
    await settle()
    expect(w.get('[data-testid="stats-board"]').attributes('data-state')).toBe('ready')
    expect(statsCalls()).toEqual([['stats_report', { req: { period: 'month' } }]])
    expect(w.get('[data-testid="stats-toggle"]').attributes('aria-pressed')).toBe('true')
    expect(w.get('[data-testid="workspace"]').isVisible()).toBe(false)
    expect(w.findAll('[data-testid="stats-person-row"]')).toHaveLength(3)
    expect(document.activeElement).toBe(w.get('[data-testid="stats-period-month"]').element)
    // The board's keys are its own: ↓ and Enter do not move or open the hidden queue.
    const queueCalls = invoke.mock.calls.length
    key('ArrowDown')
    key('Enter')
    await flushPromises()
    expect(invoke.mock.calls.slice(queueCalls).filter((c) => c[0] === 'item')).toHaveLength(0)

    document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    await flushPromises()
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(false)
    expect(w.get('[data-testid="workspace"]').isVisible()).toBe(true)
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('b')
    expect(w.findAll('[data-testid="queue-row"]')).toHaveLength(3)
    expect(w.get('[data-queue-list]').element.contains(document.activeElement)).toBe(true)
    w.unmount()
  })

  it('toggles with F8; F1–F6 go back to the queue view', async () => {
    const w = await mountMain()
    key('F8')
    await settle()
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(true)
    key('F8')
    await settle()
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(false)
    key('F8')
    await settle()
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(true)
    key('F4')
    await flushPromises()
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(false)
    expect(w.get('[data-testid="queue-tab-overdue"]').classes()).toContain('active')
    expect(w.get('[data-queue-list]').element.contains(document.activeElement)).toBe(true)
    w.unmount()
  })

  it('is where supervision roles (no counter) start, and closes when an alert is opened', async () => {
    const w = mount(MainView, { props: { session: inspector() }, attachTo: document.body })
    await flushPromises()
    await settle()
    expect(w.get('[data-testid="stats-toggle"]').attributes('aria-pressed')).toBe('true')
    expect(w.get('[data-testid="stats-title"]').text()).toContain('全县考核')
    emitEvent('desk://alert', { item_id: 'c', item_number: 'N3', kind: 'ladder_b', text: '提醒 N3' })
    await flushPromises()
    await w.get('[data-testid="alert-open"]').trigger('click')
    await flushPromises()
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(false)
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('c')
    w.unmount()
  })

  it('shows the offline message instead of figures', async () => {
    handlers.stats_report = () => {
      throw { code: 'offline', message: '无法连接服务器' }
    }
    const w = await mountMain()
    key('F8')
    await settle()
    expect(w.get('[data-testid="stats-error"]').text()).toContain('无法连接服务器')
    expect(w.find('[data-testid="stats-total"]').exists()).toBe(false)
    w.unmount()
  })

  it('is not offered to township agents', async () => {
    const w = mount(MainView, { props: { session: agentSession() }, attachTo: document.body })
    await flushPromises()
    expect(w.find('[data-testid="stats-toggle"]').exists()).toBe(false)
    key('F8')
    await settle()
    expect(w.find('[data-testid="stats-board"]').exists()).toBe(false)
    expect(statsCalls()).toHaveLength(0)
    w.unmount()
  })
})
