// Keyboard navigation in the queue: which row is highlighted after ↑/↓.

/** Next highlighted id after moving by `delta` rows. Clamps at the ends; starts at the top. */
export function moveSelection(ids: string[], current: string | null, delta: number): string | null {
  if (ids.length === 0) return null
  const i = current === null ? -1 : ids.indexOf(current)
  if (i < 0) return delta < 0 ? ids[ids.length - 1] : ids[0]
  const j = Math.max(0, Math.min(ids.length - 1, i + delta))
  return ids[j]
}

/** Keep the highlight valid after the queue was reloaded. */
export function keepSelection(ids: string[], current: string | null): string | null {
  if (current !== null && ids.includes(current)) return current
  return ids.length > 0 ? ids[0] : null
}
