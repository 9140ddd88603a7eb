// Status bar texts.
import type { Status, User } from '../api/contract'
import { formatDateTime } from './format'

export function onlineText(s: Pick<Status, 'online' | 'endpoint'> | null): string {
  if (!s || !s.online) return '离线'
  return s.endpoint ? `在线 · ${s.endpoint}` : '在线'
}

/** How the traffic travels, for the status bar: never shown as secure unless it is HTTPS. */
export function securityText(s: Pick<Status, 'online' | 'security'> | null): string {
  if (!s || !s.online || !s.security) return ''
  return s.security === 'https' ? '🔒 加密传输' : '内网明文'
}

export function liveText(s: Pick<Status, 'online' | 'live'> | null): string {
  if (!s || !s.online) return ''
  return s.live ? '实时' : '轮询'
}

export function lastSyncText(s: Pick<Status, 'last_sync'> | null): string {
  if (!s || !s.last_sync) return '尚未同步'
  const t = formatDateTime(s.last_sync)
  return `上次同步 ${t.slice(5)}`
}

export function calendarWarningText(year: number | null | undefined): string | null {
  if (!year) return null
  return `${year}年节假日安排尚未发布，相关期限为暂定`
}

export function userText(u: User): string {
  return [u.display_name || u.username, u.unit_name, u.role_name].filter((x) => x).join(' · ')
}

export const AWAY_BANNER = '您已暂离，预约将转给B岗'

/**
 * The status to show after `next` arrives. A command's answer (`get_status`, `set_away`) and a
 * `desk://status` event travel on different channels and can cross: an answer built before
 * an event may arrive after it. The shell numbers every status, so the newest one wins.
 */
export function newerStatus(current: Status | null, next: Status): Status {
  return current && current.revision > next.revision ? current : next
}
