// The accept-reservation dialog's slot picker: the clerk picks one of the slots the desk offers
// (reservation_slots: inside office hours, not past), never types a time.
import type { Slot, SlotDay } from '../api/contract'
import { slotParts, type SlotParts } from './format'

/** The key of a slot in its day's list ("09:10-09:30"). */
export function slotKey(p: Pick<SlotParts, 'start' | 'end'>): string {
  return `${p.start}-${p.end}`
}

/** The slots of `date` as picker options. */
export function daySlots(days: readonly SlotDay[], date: string): { key: string; label: string; parts: SlotParts }[] {
  const day = days.find((d) => d.date === date)
  return (day?.slots ?? []).map((s) => {
    const parts = slotParts(s)
    return { key: slotKey(parts), label: `${parts.start}–${parts.end}`, parts }
  })
}

/**
 * What the picker starts on: the slot the citizen asked for when it is offered, else the
 * first slot offered (with a note saying why); `null` when nothing is offered.
 */
export function initialSlot(
  days: readonly SlotDay[],
  requested: Slot | null | undefined,
): { parts: SlotParts; note: string } | null {
  const asked = requested ? slotParts(requested) : null
  if (asked && daySlots(days, asked.date).some((o) => o.key === slotKey(asked))) {
    return { parts: asked, note: '' }
  }
  const first = days[0] ? daySlots(days, days[0].date)[0] : undefined
  if (!first) return null
  const note = asked ? '申请的时段已过或不在办公时间内，已选最近的可预约时段，请与群众确认' : ''
  return { parts: first.parts, note }
}
