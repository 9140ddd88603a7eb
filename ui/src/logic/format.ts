// Display helpers with fallbacks for missing or odd data.
import type { ClockLevel, Countdown, DeskError, Slot } from '../api/contract'

export const KIND_NAMES: Record<string, string> = {
  reservation: '预约',
  consultation: '咨询',
  application: '申请',
  complaint: '投诉',
  evaluation: '评议',
  delegated_case: '代办件',
}

export function kindName(kind: string, given?: string | null): string {
  if (given && given.trim()) return given
  return KIND_NAMES[kind] ?? kind
}

export function statusName(status: string, given?: string | null): string {
  if (given && given.trim()) return given
  return status || '—'
}

const pad = (n: number) => String(n).padStart(2, '0')

/** Format an RFC 3339 instant as local "YYYY-MM-DD HH:mm" (Asia/Shanghai, UTC+8, no DST). */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  const d = new Date(t + 8 * 3600 * 1000)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** Format an RFC 3339 instant as a local date "YYYY年M月D日". */
export function formatDateCn(iso: string | null | undefined): string {
  if (!iso) return ''
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  const d = new Date(t + 8 * 3600 * 1000)
  return `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日`
}

export interface SlotParts {
  date: string // YYYY-MM-DD
  start: string // HH:MM
  end: string // HH:MM
}

/** Split a local slot ("2026-12-01T09:00:00") into form fields. */
export function slotParts(slot: Slot | null | undefined): SlotParts {
  const m = (s: string | undefined) => /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(s ?? '')
  const a = m(slot?.start)
  const b = m(slot?.end)
  return { date: a ? a[1] : '', start: a ? a[2] : '', end: b ? b[2] : '' }
}

/** "2026-12-01 09:00–10:00" (or both dates if the slot spans days). */
export function formatSlot(slot: Slot | null | undefined): string {
  if (!slot) return '—'
  const a = slotParts(slot)
  const bDate = /^(\d{4}-\d{2}-\d{2})/.exec(slot.end)?.[1] ?? ''
  if (!a.date) return `${slot.start}–${slot.end}`
  if (bDate && bDate !== a.date) return `${a.date} ${a.start}–${bDate} ${a.end}`
  return `${a.date} ${a.start}–${a.end}`
}

/** Rating as stars, e.g. 3 → "★★★☆☆". Clamped to 0..5; null → "未评分". */
export function stars(rating: number | null | undefined): string {
  if (rating === null || rating === undefined || Number.isNaN(rating)) return '未评分'
  const n = Math.max(0, Math.min(5, Math.round(rating)))
  return '★'.repeat(n) + '☆'.repeat(5 - n)
}

/** CSS class for a countdown level. */
export function countdownClass(cd: Countdown | null | undefined): string {
  if (!cd) return 'cd-none'
  const levels: ClockLevel[] = ['normal', 'warning', 'overdue', 'paused']
  return levels.includes(cd.level) ? `cd-${cd.level}` : 'cd-normal'
}

/** Working minutes as "X天Y小时Z分" (a working day counted as 8 hours is NOT assumed: hours only). */
export function minutesText(min: number): string {
  const m = Math.abs(Math.trunc(min))
  const h = Math.floor(m / 60)
  const r = m % 60
  return h > 0 ? `${h}小时${r}分` : `${r}分`
}

/** Countdown label shown in the queue and detail; adds "（暂定）" when provisional. */
export function countdownLabel(cd: Countdown | null | undefined): string {
  if (!cd) return '—'
  let label = cd.label && cd.label.trim() ? cd.label : ''
  if (!label) {
    if (cd.level === 'paused') label = '暂停'
    else if (cd.remaining_minutes < 0 || cd.level === 'overdue') label = `已超期 ${minutesText(cd.remaining_minutes)}`
    else label = `剩余 ${minutesText(cd.remaining_minutes)}`
  }
  return cd.provisional && !label.includes('暂定') ? `${label}（暂定）` : label
}

/**
 * The queue's 事项/标题 cell: the matter, and what the title adds to it. Titles often repeat
 * the matter ("出生登记" under 出生登记) or start with it ("出生登记（二孩）"): said once.
 */
export function titleParts(matter: string | null | undefined, title: string | null | undefined): { main: string; extra: string } {
  const m = (matter ?? '').trim()
  const t = (title ?? '').trim()
  if (!m) return { main: t, extra: '' }
  if (!t || m.includes(t)) return { main: m, extra: '' }
  if (t.startsWith(m)) return { main: m, extra: t.slice(m.length).trim() }
  return { main: m, extra: t }
}

/** Error text for display: the message, plus lockout minutes when locked. */
export function errorText(e: DeskError): string {
  if (e.code === 'locked' && typeof e.retry_after_secs === 'number' && e.retry_after_secs > 0) {
    const min = Math.max(1, Math.ceil(e.retry_after_secs / 60))
    return `${e.message}（请 ${min} 分钟后再试）`
  }
  return e.message
}
