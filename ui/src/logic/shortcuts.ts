// Keyboard shortcut mapping for the main screen.
import type { QueueViewName } from '../api/contract'

export const VIEW_TABS: { view: QueueViewName; label: string; key?: string }[] = [
  { view: 'mine', label: '我的', key: 'F1' },
  { view: 'unit', label: '本单位', key: 'F2' },
  { view: 'due_soon', label: '即将到期', key: 'F3' },
  { view: 'overdue', label: '已超期', key: 'F4' },
  { view: 'reservation', label: '预约', key: 'F5' },
  { view: 'consultation', label: '咨询' },
  { view: 'application', label: '申请' },
  { view: 'complaint', label: '投诉' },
  { view: 'evaluation', label: '评议' },
  { view: 'delegated_case', label: '代办件' },
  { view: 'all', label: '全部', key: 'F6' },
]

/** Township agents (代办员) see their own cases; F2 registers a new one instead of 本单位. */
export const AGENT_VIEW_TABS: { view: QueueViewName; label: string; key?: string }[] = [
  { view: 'mine', label: '我的代办', key: 'F1' },
  { view: 'due_soon', label: '即将到期', key: 'F3' },
  { view: 'overdue', label: '已超期', key: 'F4' },
  { view: 'all', label: '全部', key: 'F6' },
]

/**
 * Whose main screen: the window clerk's (default, with the counter's F9/F10), the township
 * agent's workspace, or a screen without a counter (net admin, supervision roles).
 */
export type KeyMode = 'clerk' | 'agent' | 'office'

export type Shortcut =
  | { type: 'view'; view: QueueViewName }
  | { type: 'focus-search' }
  | { type: 'move'; delta: number }
  | { type: 'open' }
  | { type: 'counter'; op: 'call_next' | 'walk_in' }
  | { type: 'register-case' }
  | { type: 'stats' }

/** The assessment board's key (考核统计), everywhere but the agent workspace. */
export const STATS_KEY = 'F8'

/**
 * Where the key was pressed: the search box, the queue list, another input, nowhere in
 * particular (`page`: focus on the page itself, e.g. after an F-key view switch re-rendered the
 * list), or another control (a button keeps its own Enter).
 */
export type KeyContext = 'search' | 'queue' | 'editable' | 'page' | 'other'

export interface KeyLike {
  key: string
  ctrlKey?: boolean
  altKey?: boolean
  metaKey?: boolean
  shiftKey?: boolean
}

export function mapKey(e: KeyLike, ctx: KeyContext, mode: KeyMode = 'clerk'): Shortcut | null {
  if (e.altKey || e.metaKey) return null
  if (e.ctrlKey) {
    return e.key === 'f' || e.key === 'F' ? { type: 'focus-search' } : null
  }
  const tab = (mode === 'agent' ? AGENT_VIEW_TABS : VIEW_TABS).find((t) => t.key === e.key)
  if (tab) return { type: 'view', view: tab.view }
  if (mode === 'agent') {
    if (e.key === 'F2') return { type: 'register-case' }
  } else {
    if (e.key === STATS_KEY) return { type: 'stats' }
    if (mode === 'clerk') {
      if (e.key === 'F9') return { type: 'counter', op: 'call_next' }
      if (e.key === 'F10') return { type: 'counter', op: 'walk_in' }
    }
  }
  if (ctx === 'editable') return null
  if (e.key === '/' && ctx !== 'search') return { type: 'focus-search' }
  if (e.key === 'ArrowDown') return { type: 'move', delta: 1 }
  if (e.key === 'ArrowUp') return { type: 'move', delta: -1 }
  if (e.key === 'Enter' && (ctx === 'search' || ctx === 'queue' || ctx === 'page')) return { type: 'open' }
  return null
}

/** Classify the event target for `mapKey`. */
export function keyContext(target: EventTarget | null): KeyContext {
  const el = target as HTMLElement | null
  if (!el || typeof el.closest !== 'function') return 'other'
  if (el === document.body || el === document.documentElement) return 'page'
  if (el.closest('[data-testid="queue-search"]')) return 'search'
  if (el.closest('[data-queue-list]')) return 'queue'
  const tag = el.tagName
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable) return 'editable'
  return 'other'
}
