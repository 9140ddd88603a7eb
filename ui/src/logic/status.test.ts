import { describe, expect, it } from 'vitest'
import {
  calendarWarningText,
  lastSyncText,
  liveText,
  newerStatus,
  onlineText,
  securityText,
  userText,
} from './status'
import { session, status } from '../test/fixtures'

describe('status bar texts', () => {
  it('shows online with endpoint name or offline', () => {
    expect(onlineText(status())).toBe('在线 · 内网')
    expect(onlineText(status({ endpoint: '外网' }))).toBe('在线 · 外网')
    expect(onlineText(status({ online: false, endpoint: '内网' }))).toBe('离线')
    expect(onlineText(null)).toBe('离线')
  })
  it('says how the traffic travels, and never claims encryption it does not have', () => {
    expect(securityText(status({ security: 'https' }))).toBe('🔒 加密传输')
    expect(securityText(status({ security: 'plain_intranet' }))).toBe('内网明文')
    expect(securityText(status({ security: null }))).toBe('')
    expect(securityText(status({ online: false, security: 'https' }))).toBe('')
    expect(securityText(null)).toBe('')
  })
  it('shows live or polling only when online', () => {
    expect(liveText(status())).toBe('实时')
    expect(liveText(status({ live: false }))).toBe('轮询')
    expect(liveText(status({ online: false }))).toBe('')
  })
  it('shows last sync in local time', () => {
    expect(lastSyncText(status({ last_sync: '2026-11-30T01:05:00Z' }))).toBe('上次同步 11-30 09:05')
    expect(lastSyncText(status({ last_sync: null }))).toBe('尚未同步')
  })
  it('warns about a missing holiday schedule', () => {
    expect(calendarWarningText(2027)).toBe('2027年节假日安排尚未发布，相关期限为暂定')
    expect(calendarWarningText(null)).toBeNull()
  })
  it('joins user, unit and role', () => {
    expect(userText(session().user)).toBe('李明 · 县公安局 · 窗口人员')
    expect(userText({ ...session().user, unit_name: null })).toBe('李明 · 窗口人员')
  })
  it('keeps the status with the higher revision', () => {
    const old = status({ revision: 3, last_sync: null })
    const fresh = status({ revision: 4 })
    expect(newerStatus(null, old)).toBe(old)
    expect(newerStatus(old, fresh)).toBe(fresh)
    expect(newerStatus(fresh, old)).toBe(fresh)
    expect(newerStatus(fresh, fresh)).toBe(fresh)
  })
})
