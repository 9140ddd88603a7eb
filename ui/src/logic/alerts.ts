// Red alert banners (desk://alert): newest first, one per item and kind.
import type { Alert } from '../api/contract'

/** At most this many alerts are kept; older ones fall off the end. */
export const MAX_ALERTS = 50

export function alertKey(a: Pick<Alert, 'item_id' | 'kind'>): string {
  return `${a.item_id}\u0000${a.kind}`
}

/**
 * Add an alert as the newest (first). A repeated alert for the same item and kind replaces the
 * older one (its text may have changed, e.g. a new count) and moves to the front.
 */
export function addAlert(list: Alert[], a: Alert): Alert[] {
  const key = alertKey(a)
  return [a, ...list.filter((x) => alertKey(x) !== key)].slice(0, MAX_ALERTS)
}

export function removeAlert(list: Alert[], a: Pick<Alert, 'item_id' | 'kind'>): Alert[] {
  const key = alertKey(a)
  return list.filter((x) => alertKey(x) !== key)
}

/**
 * The alerts of items that no longer need this user (handled here or on a colleague's desk,
 * taken, moved to another unit) leave the banner: the desk says which (desk://alert-withdrawn).
 */
export function withdrawItems(list: Alert[], itemIds: readonly string[]): Alert[] {
  const gone = new Set(itemIds)
  return list.filter((x) => !gone.has(x.item_id))
}

/** "另有 N 条提醒" for the collapsed banner row; empty when there is nothing more. */
export function moreAlertsText(total: number): string {
  return total > 1 ? `另有 ${total - 1} 条提醒` : ''
}
