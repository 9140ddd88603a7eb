import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'

const invoke = vi.fn()
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))
vi.mock('@tauri-apps/api/event', () => ({ listen: async () => () => {} }))

import App from '../App.vue'
import { row, session, settings } from '../test/fixtures'
import { defaultHandlers, routeInvoke, type Handler } from '../test/mockShell'

let handlers: Record<string, Handler>

beforeEach(() => {
  invoke.mockReset()
  handlers = defaultHandlers()
  routeInvoke(invoke, handlers)
})
afterEach(() => {
  document.body.replaceChildren()
})

async function mountApp() {
  const w = mount(App, { attachTo: document.body })
  await flushPromises()
  return w
}

describe('login flow', () => {
  it('tries to resume first and shows the login form when there is no session', async () => {
    handlers.get_settings = () => settings({ remembered_username: 'clerk1' })
    const w = await mountApp()
    expect(invoke.mock.calls[0][0]).toBe('try_resume')
    expect((w.get('[data-testid="login-username"]').element as HTMLInputElement).value).toBe('clerk1')
    expect((w.get('[data-testid="login-remember"]').element as HTMLInputElement).checked).toBe(true)
    w.unmount()
  })

  it('logs in and reaches the main screen with the queue', async () => {
    handlers.queue = () => [row({ id: 'q1', number: 'YY1', pending: true })]
    const w = await mountApp()
    await w.get('[data-testid="login-username"]').setValue('clerk1')
    await w.get('[data-testid="login-password"]').setValue('s3cret!x')
    await w.get('[data-testid="login-remember"]').setValue(true)
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('login', { req: { username: 'clerk1', password: 's3cret!x', remember: true } })
    expect(w.find('[data-testid="login-submit"]').exists()).toBe(false)
    expect(w.get('[data-testid="status-online"]').attributes('data-online')).toBe('true')
    expect(w.get('[data-testid="status-endpoint"]').text()).toBe('在线 · 内网')
    const r = w.get('[data-testid="queue-row"]')
    expect(r.attributes('data-number')).toBe('YY1')
    expect(r.attributes('data-pending')).toBe('true')
    w.unmount()
  })

  it('shows wrong-password and lockout errors', async () => {
    handlers.login = () => {
      throw { code: 'wrong_password', message: '用户名或密码错误' }
    }
    const w = await mountApp()
    await w.get('[data-testid="login-username"]').setValue('clerk1')
    await w.get('[data-testid="login-password"]').setValue('bad')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="login-error"]').text()).toBe('用户名或密码错误')
    expect((w.get('[data-testid="login-password"]').element as HTMLInputElement).value).toBe('')

    handlers.login = () => {
      throw { code: 'locked', message: '登录失败次数过多，账户已锁定', retry_after_secs: 600 }
    }
    await w.get('[data-testid="login-password"]').setValue('bad')
    await w.get('form').trigger('submit')
    await flushPromises()
    expect(w.get('[data-testid="login-error"]').text()).toContain('10 分钟')
    w.unmount()
  })

  it('resumes a remembered session straight into the main screen', async () => {
    handlers.try_resume = () => session({ remembered: true })
    const w = await mountApp()
    expect(w.find('[data-testid="login-submit"]').exists()).toBe(false)
    expect(w.find('[data-testid="queue-empty"]').exists()).toBe(true)
    expect(invoke.mock.calls.some((c) => c[0] === 'login')).toBe(false)
    w.unmount()
  })

  it('forces a password change and checks rules as the user types', async () => {
    vi.useFakeTimers()
    try {
      handlers.login = () => session({ must_change_password: true })
      handlers.check_password = (req) =>
        (req as { password: string }).password.length < 5
          ? { ok: false, problems: ['密码长度应为5–20位'] }
          : { ok: true, problems: [] }
      handlers.change_password = () => session()
      const w = mount(App, { attachTo: document.body })
      await flushPromises()
      await w.get('[data-testid="login-username"]').setValue('new1')
      await w.get('[data-testid="login-password"]').setValue('init')
      await w.get('form').trigger('submit')
      await flushPromises()
      await w.get('[data-testid="change-old"]').setValue('init')
      await w.get('[data-testid="change-new"]').setValue('ab')
      await vi.advanceTimersByTimeAsync(350)
      await flushPromises()
      expect(w.text()).toContain('密码长度应为5–20位')
      await w.get('[data-testid="change-new"]').setValue('Ab1!xyz')
      await w.get('[data-testid="change-repeat"]').setValue('Ab1!xyz')
      await vi.advanceTimersByTimeAsync(350)
      await flushPromises()
      expect(w.text()).toContain('新密码符合要求')
      expect(invoke.mock.calls.filter((c) => c[0] === 'check_password')).toHaveLength(2)
      await w.get('form').trigger('submit')
      await flushPromises()
      expect(invoke).toHaveBeenCalledWith('change_password', { req: { old_password: 'init', new_password: 'Ab1!xyz' } })
      expect(w.find('[data-testid="status-online"]').exists()).toBe(true)
      w.unmount()
    } finally {
      vi.useRealTimers()
    }
  })

  it('saves edited endpoints', async () => {
    handlers.save_endpoints = (req) => settings({ endpoints: (req as { endpoints: never[] }).endpoints })
    const w = await mountApp()
    await w.get('[data-testid="endpoints-toggle"]').trigger('click')
    await w.get('[data-testid="endpoint-url-1"]').setValue('http://127.0.0.1:9')
    await w.get('[data-testid="endpoints-save"]').trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('save_endpoints', {
      req: {
        endpoints: [
          { name: '内网', base_url: 'http://127.0.0.1:1' },
          { name: '外网', base_url: 'http://127.0.0.1:9' },
        ],
      },
    })
    expect(w.text()).toContain('已保存')
    w.unmount()
  })
})
