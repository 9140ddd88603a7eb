import { beforeEach, describe, expect, it, vi } from 'vitest'

const invoke = vi.fn()
const listen = vi.fn()
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))
vi.mock('@tauri-apps/api/event', () => ({ listen: (...a: unknown[]) => listen(...a) }))

import { attachmentBytes, call, captureFile, onEvent, toDeskError } from './desk'

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

describe('attachments', () => {
  function file(bytes: number[], name: string, type = 'image/jpeg'): File {
    const f = new File([new Uint8Array(bytes)], name, { type })
    // jsdom's File has no arrayBuffer(); the webview's does.
    Object.defineProperty(f, 'arrayBuffer', { value: async () => new Uint8Array(bytes).buffer })
    return f
  }

  it('sends a file as the raw body with URI-encoded headers', async () => {
    const att = { hash: 'h', size: 3, mime: 'image/jpeg', file_name: '身份证 正面.jpg', material: '居民身份证' }
    invoke.mockResolvedValue(att)
    const got = await captureFile(file([1, 2, 3], '身份证 正面.jpg'), 'd1', '居民身份证', 'material')
    expect(got).toEqual(att)
    const [cmd, body, opts] = invoke.mock.calls[0]
    expect(cmd).toBe('capture_attachment')
    expect(body).toBeInstanceOf(Uint8Array)
    expect(Array.from(body as Uint8Array)).toEqual([1, 2, 3])
    expect(opts).toEqual({
      headers: {
        'x-item-id': 'd1',
        'x-material': encodeURIComponent('居民身份证'),
        'x-file-name': encodeURIComponent('身份证 正面.jpg'),
        'x-purpose': 'material',
      },
    })
    await captureFile(file([9], 'a.png'), 'd1', '送达凭证', 'proof')
    expect(invoke.mock.calls[1][2].headers['x-purpose']).toBe('proof')
  })

  it('normalises capture errors', async () => {
    invoke.mockRejectedValue({ code: 'attachment_too_large', message: '文件过大（25.0 MB），单个材料不能超过 20 MB' })
    await expect(captureFile(file([1], 'big.jpg'), 'd1', 'x', 'material')).rejects.toMatchObject({
      code: 'attachment_too_large',
      message: '文件过大（25.0 MB），单个材料不能超过 20 MB',
    })
  })

  it('reads the bytes of an attachment by hash', async () => {
    const buf = new Uint8Array([7, 8]).buffer
    invoke.mockResolvedValue(buf)
    expect(await attachmentBytes('abc')).toBe(buf)
    expect(invoke).toHaveBeenLastCalledWith('attachment', { req: { hash: 'abc' } })
    invoke.mockResolvedValue([1, 2, 3])
    expect(Array.from(new Uint8Array(await attachmentBytes('abc')))).toEqual([1, 2, 3])
    invoke.mockResolvedValue(null)
    await expect(attachmentBytes('abc')).rejects.toMatchObject({ code: 'other' })
    invoke.mockRejectedValue({ code: 'offline', message: '离线，且本机没有该文件' })
    await expect(attachmentBytes('abc')).rejects.toMatchObject({ code: 'offline' })
  })
})
