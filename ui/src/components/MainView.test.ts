import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
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

import MainView from './MainView.vue'
import { detail, row, session, settings, status } from '../test/fixtures'
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
      waiting: [],
      called_today: 1,
    })
    const w = await mountMain()
    key('F9')
    await flushPromises()
    expect(w.get('[data-testid="counter-serving"]').text()).toContain('Y003')
    expect(w.get('[data-testid="detail"]').attributes('data-id')).toBe('a')
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
