import { beforeEach, describe, expect, it, vi } from 'vitest'

const invoke = vi.fn()
const listen = vi.fn()
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))
vi.mock('@tauri-apps/api/event', () => ({ listen: (...a: unknown[]) => listen(...a) }))

import { call, onEvent, toDeskError } from './desk'

beforeEach(() => {
  invoke.mockReset()
  listen.mockReset()
})

describe('call', () => {
  it('sends {} without a request and {req} with one', async () => {
    invoke.mockResolvedValue(null)
    await call('get_status')
    expect(invoke).toHaveBeenLastCalledWith('get_status', {})
    await call('item', { id: 'x1' })
    expect(invoke).toHaveBeenLastCalledWith('item', { req: { id: 'x1' } })
  })
  it('rejects with a DeskError', async () => {
    invoke.mockRejectedValue({ code: 'locked', message: '账户已锁定', retry_after_secs: 300 })
    await expect(call('login', { username: 'a', password: 'b', remember: false })).rejects.toEqual({
      code: 'locked',
      message: '账户已锁定',
      retry_after_secs: 300,
      problems: undefined,
    })
  })
  it('normalizes strings and junk into DeskErrors', () => {
    expect(toDeskError('command item not found')).toEqual({ code: 'other', message: 'command item not found' })
    expect(toDeskError(undefined).code).toBe('other')
    expect(toDeskError({ message: '坏了', problems: ['太短'] })).toMatchObject({ code: 'other', problems: ['太短'] })
  })
})

describe('onEvent', () => {
  it('passes the payload to the handler', async () => {
    let cb: ((e: { payload: unknown }) => void) | null = null
    const unlisten = vi.fn()
    listen.mockImplementation(async (_n: string, h: (e: { payload: unknown }) => void) => {
      cb = h
      return unlisten
    })
    const got: unknown[] = []
    const off = await onEvent('desk://focus-item', (p) => got.push(p))
    cb!({ payload: { id: 'i9' } })
    expect(got).toEqual([{ id: 'i9' }])
    off()
    expect(unlisten).toHaveBeenCalled()
  })
  it('returns a no-op when listening fails', async () => {
    listen.mockRejectedValue(new Error('no tauri'))
    const off = await onEvent('desk://status', () => {})
    expect(() => off()).not.toThrow()
  })
})
