// The only module that talks to the Tauri shell. Everything else goes through `call` / `onEvent`.
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { Alert, Attachment, Commands, DeskError, Rejection, Status } from './contract'
import { ATTACHMENT_BYTES, CAPTURE_ATTACHMENT, EVENTS } from './contract'

/** Call a shell command. Rejects with a normalized `DeskError`. */
export async function call<K extends keyof Commands>(
  name: K,
  req?: Commands[K]['req'],
): Promise<Commands[K]['res']> {
  try {
    return await invoke<Commands[K]['res']>(name, req === undefined ? {} : { req })
  } catch (e) {
    throw toDeskError(e)
  }
}

/**
 * Send a file of a delegated case to the shell as the raw invoke body. The shell checks it by
 * content, downscales photos and strips their metadata, stores it and (for `material`) adds it
 * to the case. `proof`: a delivery proof, only stored (pass it to `deliver_to_citizen`).
 */
export async function captureFile(
  file: File,
  itemId: string,
  material: string,
  purpose: 'material' | 'proof',
): Promise<Attachment> {
  try {
    return await invoke<Attachment>(CAPTURE_ATTACHMENT, new Uint8Array(await file.arrayBuffer()), {
      headers: {
        'x-item-id': itemId,
        'x-material': encodeURIComponent(material),
        'x-file-name': encodeURIComponent(file.name),
        'x-purpose': purpose,
      },
    })
  } catch (e) {
    throw toDeskError(e)
  }
}

/** The bytes of a stored attachment (from the cache or the server). */
export async function attachmentBytes(hash: string): Promise<ArrayBuffer> {
  try {
    const res = await invoke<ArrayBuffer | Uint8Array | number[]>(ATTACHMENT_BYTES, { req: { hash } })
    if (res instanceof ArrayBuffer) return res
    if (!(res instanceof Uint8Array) && !Array.isArray(res)) throw { code: 'other', message: '无法读取文件内容' }
    // Tolerate the other shapes a raw response can take on the way through the IPC layer.
    const bytes = res instanceof Uint8Array ? res : Uint8Array.from(res)
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
  } catch (e) {
    throw toDeskError(e)
  }
}

/** Turn anything thrown by `invoke` into a DeskError. */
export function toDeskError(e: unknown): DeskError {
  if (e && typeof e === 'object' && typeof (e as DeskError).message === 'string') {
    const d = e as Partial<DeskError>
    return {
      code: typeof d.code === 'string' ? d.code : 'other',
      message: d.message as string,
      retry_after_secs: d.retry_after_secs ?? null,
      problems: Array.isArray(d.problems) ? d.problems : undefined,
    }
  }
  if (typeof e === 'string' && e.length > 0) return { code: 'other', message: e }
  return { code: 'other', message: '操作失败（未知错误）' }
}

export interface EventPayloads {
  [EVENTS.status]: Status
  [EVENTS.itemsChanged]: { ids: string[]; new_items: string[] }
  [EVENTS.rejected]: Rejection
  [EVENTS.focusItem]: { id: string }
  [EVENTS.alert]: Alert
  [EVENTS.alertWithdrawn]: { item_ids: string[] }
  [EVENTS.sessionEnded]: { reason: string }
  [EVENTS.hallCall]: { ticket_no: string; window_no: number | null }
}

export type EventName = keyof EventPayloads

/** Subscribe to a shell event. Returns an unsubscribe function (a no-op if listening failed). */
export async function onEvent<E extends EventName>(
  name: E,
  handler: (payload: EventPayloads[E]) => void,
): Promise<() => void> {
  try {
    const unlisten = await listen<EventPayloads[E]>(name, (ev) => handler(ev.payload))
    return unlisten
  } catch {
    // Not running inside Tauri (e.g. unit tests): events simply never arrive.
    return () => {}
  }
}
