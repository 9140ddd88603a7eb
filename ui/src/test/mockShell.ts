// A fake shell for component tests: route `invoke(cmd, {req})` to per-command handlers.
import { vi } from 'vitest'
import { counterIdle, session, settings, status } from './fixtures'

export type Handler = (req: unknown) => unknown

export function defaultHandlers(): Record<string, Handler> {
  return {
    try_resume: () => null,
    get_settings: () => settings(),
    get_status: () => status(),
    queue: () => [],
    rejections: () => [],
    counter_state: () => counterIdle(),
    login: () => session(),
    logout: () => null,
  }
}

export function routeInvoke(invoke: ReturnType<typeof vi.fn>, handlers: Record<string, Handler>) {
  invoke.mockImplementation(async (cmd: string, args?: { req?: unknown }) => {
    const h = handlers[cmd]
    if (!h) throw { code: 'other', message: `unexpected command ${cmd}` }
    return h(args?.req)
  })
}
