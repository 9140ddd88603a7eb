// The only module that talks to the Tauri shell. Everything else goes through `call` / `onEvent`.
import { invoke } from '@tauri-apps/api/core'
import { listen } from '@tauri-apps/api/event'
import type { Alert, Commands, DeskError, Rejection, Status } from './contract'
import { EVENTS } from './contract'

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
  [EVENTS.sessionEnded]: { reason: string }
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
