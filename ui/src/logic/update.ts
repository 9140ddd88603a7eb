// Desk updates from the county: when to look, what to say, and when installing may start.
import type { UpdateOffer } from '../api/contract'

/** The desk looks for an update at start and then once a day. */
export const UPDATE_CHECK_MS = 24 * 60 * 60 * 1000

export function updateText(o: UpdateOffer): string {
  const size =
    o.size >= 1024 * 1024 ? `${(o.size / (1024 * 1024)).toFixed(1)} MB` : `${Math.max(1, Math.round(o.size / 1024))} KB`
  return `新版本 ${o.version} 可以安装（${size}）：${o.notes}`
}

/**
 * Installing restarts the desk: never while a dialog of the clerk's work is open (an
 * acceptance, a notice, a reply half written). `root` is searched for open dialogs.
 */
export function busyWithDialog(root: ParentNode): boolean {
  return root.querySelector('[role="dialog"][aria-modal="true"], dialog[open]') !== null
}
