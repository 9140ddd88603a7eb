import { describe, expect, it } from 'vitest'
import type { SlotDay } from '../api/contract'
import { daySlots, initialSlot, slotKey } from './slots'

const days: SlotDay[] = [
  {
    date: '2026-12-03',
    label: '12月3日 周四',
    slots: [
      { start: '2026-12-03T10:10:00', end: '2026-12-03T10:30:00' },
      { start: '2026-12-03T10:30:00', end: '2026-12-03T10:50:00' },
    ],
  },
  {
    date: '2026-12-04',
    label: '12月4日 周五',
    slots: [
      { start: '2026-12-04T08:30:00', end: '2026-12-04T08:50:00' },
      { start: '2026-12-04T09:10:00', end: '2026-12-04T09:30:00' },
    ],
  },
]

describe('slot picker', () => {
  it('lists the slots of a day as options', () => {
    expect(daySlots(days, '2026-12-04').map((o) => o.label)).toEqual(['08:30–08:50', '09:10–09:30'])
    expect(daySlots(days, '2026-12-05')).toEqual([])
    expect(slotKey({ start: '09:10', end: '09:30' })).toBe('09:10-09:30')
  })
  it('starts on the asked slot when it is offered', () => {
    const asked = { start: '2026-12-04T09:10:00', end: '2026-12-04T09:30:00' }
    expect(initialSlot(days, asked)).toEqual({ parts: { date: '2026-12-04', start: '09:10', end: '09:30' }, note: '' })
  })
  it('starts on the first offered slot, saying why, when the asked one is past or outside office hours', () => {
    const lunch = { start: '2026-12-04T12:00:00', end: '2026-12-04T12:20:00' }
    const got = initialSlot(days, lunch)
    expect(got?.parts).toEqual({ date: '2026-12-03', start: '10:10', end: '10:30' })
    expect(got?.note).toContain('不在办公时间内')
    expect(initialSlot(days, null)?.note).toBe('')
    expect(initialSlot([], lunch)).toBeNull()
  })
})
