import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'

const invoke = vi.fn()
const listeners: Record<string, (ev: { payload: unknown }) => void> = {}
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))
vi.mock('@tauri-apps/api/event', () => ({
  listen: async (name: string, cb: (ev: { payload: unknown }) => void) => {
    listeners[name] = cb
    return () => delete listeners[name]
  },
}))

import HallScreen from './HallScreen.vue'

const call = (ticket_no: string, window_no: number | null, at: string) => ({
  ticket_no,
  window_no,
  at,
  text: window_no === null ? `请${ticket_no}号到窗口办理` : `请${ticket_no}号到${window_no}号窗口办理`,
})

describe('HallScreen', () => {
  beforeEach(() => {
    invoke.mockReset()
  })
  afterEach(() => vi.useRealTimers())

  it('shows the newest call large, each window current number, and reads again on a call here', async () => {
    let calls = [call('W001', 3, '2026-12-04T01:00:00Z'), call('Y002', 1, '2026-12-04T01:01:00Z')]
    invoke.mockImplementation(async (cmd: string) => {
      if (cmd === 'hall_board') return { calls, site_wide: true }
      throw new Error(`unexpected ${String(cmd)}`)
    })
    const w = mount(HallScreen)
    await flushPromises()
    expect(w.get('[data-testid="hall-latest"]').text()).toBe('请Y002号到1号窗口办理')
    expect(w.findAll('[data-testid="hall-window"]').map((x) => x.text())).toEqual(['1号窗口Y002', '3号窗口W001'])
    expect(w.text()).not.toContain('仅显示本窗口')

    calls = [call('W002', 3, '2026-12-04T01:02:00Z'), ...calls]
    listeners['desk://hall-call']({ payload: { ticket_no: 'W002', window_no: 3 } })
    await flushPromises()
    expect(w.get('[data-testid="hall-latest"]').text()).toBe('请W002号到3号窗口办理')
    expect(w.findAll('[data-testid="hall-window"]').map((x) => x.text())).toEqual(['1号窗口Y002', '3号窗口W002'])
    w.unmount()
  })

  it('says when only this window is shown, and when it cannot read the calls', async () => {
    invoke.mockResolvedValueOnce({ calls: [], site_wide: false })
    const w = mount(HallScreen)
    await flushPromises()
    expect(w.text()).toContain('仅显示本窗口')
    expect(w.get('[data-testid="hall-latest"]').text()).toBe('请取号等候')
    w.unmount()

    invoke.mockRejectedValueOnce({ code: 'not_logged_in', message: '未登录' })
    const v = mount(HallScreen)
    await flushPromises()
    expect(v.text()).toContain('暂停服务')
    v.unmount()
  })
})
