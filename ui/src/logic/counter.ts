// The call panel's logic (窗口叫号): which actions the counter offers in its state, in the order
// they are shown (Tab order), and how the hall screen arranges the calls.
import type { CounterState, HallCall, Ticket } from '../api/contract'
import { formatSlot } from './format'

export type CounterCmd =
  | 'counter_state'
  | 'counter_call_next'
  | 'counter_walk_in'
  | 'counter_start'
  | 'counter_suspend'
  | 'counter_no_show'
  | 'counter_done'
  | 'counter_recall'

export interface CounterAction {
  cmd: CounterCmd
  testid: string
  label: string
}

const START: CounterAction = { cmd: 'counter_start', testid: 'counter-start', label: '开始办理' }
const RECALL: CounterAction = { cmd: 'counter_recall', testid: 'counter-recall', label: '重呼' }
const NO_SHOW: CounterAction = { cmd: 'counter_no_show', testid: 'counter-no-show', label: '过号' }
const SUSPEND: CounterAction = { cmd: 'counter_suspend', testid: 'counter-suspend', label: '挂起' }
const DONE: CounterAction = { cmd: 'counter_done', testid: 'counter-done', label: '办结' }

/**
 * What can be done with the ticket being served: called but not yet at the window → start,
 * call again or give up (过号); at the window → suspend (the citizen fetches a document) or
 * finish. Nothing without a ticket.
 */
export function servingActions(state: Pick<CounterState, 'serving' | 'serving_started'> | null): CounterAction[] {
  if (!state?.serving) return []
  return state.serving_started ? [SUSPEND, DONE] : [START, RECALL, NO_SHOW, DONE]
}

/** A ticket number as the clerk types it for 指呼 ("w3" → "W003"); null when it is not one. */
export function normalizeTicketNo(text: string): string | null {
  const m = /^\s*([A-Za-z])\s*0*(\d{1,3})\s*$/.exec(text)
  if (!m) return null
  return `${m[1].toUpperCase()}${m[2].padStart(3, '0')}`
}

export interface HallBoardView {
  /** The current call of each window (its newest), windows in number order. */
  windows: { window_no: number | null; ticket_no: string; at: string }[]
  /** The newest call of all (shown large). */
  latest: HallCall | null
  /** The calls before the latest, newest first, at most `recent`. */
  history: HallCall[]
}

/** The hall screen's arrangement of calls (any order in; one current call per window). */
export function hallBoard(calls: readonly HallCall[], recent = 8): HallBoardView {
  const sorted = [...calls].sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
  const current = new Map<string, HallCall>()
  for (const c of sorted) {
    const key = c.window_no === null ? '-' : String(c.window_no)
    if (!current.has(key)) current.set(key, c)
  }
  const windows = [...current.values()]
    .map((c) => ({ window_no: c.window_no, ticket_no: c.ticket_no, at: c.at }))
    .sort((a, b) => (a.window_no ?? 1000) - (b.window_no ?? 1000))
  return { windows, latest: sorted[0] ?? null, history: sorted.slice(1, 1 + recent) }
}

/** What the waiting list says beside a number: a reservation's time, 现场, or where it came from. */
export function waitingNote(t: Pick<Ticket, 'kind' | 'slot' | 'transfer'>): string {
  if (t.kind === 'transferred') {
    const from = t.transfer?.from_window
    return from ? `${from}号窗口转来` : '转来'
  }
  return t.slot ? formatSlot(t.slot).slice(11) : '现场'
}
