import { describe, expect, it } from 'vitest'
import type { HallCall, Ticket } from '../api/contract'
import { hallBoard, normalizeTicketNo, servingActions, waitingNote } from './counter'

const ticket: Ticket = {
  ticket_no: 'W001',
  kind: 'walk_in',
  item_id: null,
  item_number: null,
  slot: null,
  issued_at: '2026-12-04T01:00:00Z',
}

describe('servingActions', () => {
  const cases: [string, Parameters<typeof servingActions>[0], string[]][] = [
    ['nothing served', { serving: null, serving_started: false }, []],
    ['no state yet', null, []],
    ['called, not yet at the window', { serving: ticket, serving_started: false }, ['counter_start', 'counter_recall', 'counter_no_show', 'counter_done']],
    ['at the window', { serving: ticket, serving_started: true }, ['counter_suspend', 'counter_done']],
  ]
  for (const [name, state, cmds] of cases) {
    it(name, () => expect(servingActions(state).map((a) => a.cmd)).toEqual(cmds))
  }
  it('labels every action in Chinese with a test id', () => {
    for (const a of servingActions({ serving: ticket, serving_started: false })) {
      expect(a.label).toMatch(/[\u4e00-\u9fff]/)
      expect(a.testid).toMatch(/^counter-/)
    }
  })
})

describe('normalizeTicketNo', () => {
  const cases: [string, string | null][] = [
    ['W001', 'W001'],
    ['w1', 'W001'],
    [' y 12 ', 'Y012'],
    ['W0003', 'W003'],
    ['W', null],
    ['001', null],
    ['W1234', null],
    ['<b>', null],
  ]
  for (const [text, want] of cases) it(`"${text}"`, () => expect(normalizeTicketNo(text)).toBe(want))
})

describe('hallBoard', () => {
  const call = (ticket_no: string, window_no: number | null, minute: number): HallCall => ({
    ticket_no,
    window_no,
    at: `2026-12-04T01:${String(minute).padStart(2, '0')}:00Z`,
    text: `请${ticket_no}号到${window_no}号窗口办理`,
  })

  it('shows the newest call of each window, windows in order, the latest large', () => {
    const board = hallBoard([call('W001', 3, 1), call('Y001', 1, 2), call('W002', 3, 5), call('W003', 12, 4)])
    expect(board.windows.map((w) => [w.window_no, w.ticket_no])).toEqual([
      [1, 'Y001'],
      [3, 'W002'],
      [12, 'W003'],
    ])
    expect(board.latest?.ticket_no).toBe('W002')
    expect(board.history.map((c) => c.ticket_no)).toEqual(['W003', 'Y001', 'W001'])
  })

  it('keeps a recall as the window current call and limits the history', () => {
    const calls = Array.from({ length: 12 }, (_, i) => call(`W${String(i + 1).padStart(3, '0')}`, 2, i))
    const board = hallBoard(calls, 5)
    expect(board.windows).toHaveLength(1)
    expect(board.windows[0].ticket_no).toBe('W012')
    expect(board.history).toHaveLength(5)
  })

  it('is empty without calls', () => {
    expect(hallBoard([])).toEqual({ windows: [], latest: null, history: [] })
  })
})

describe('waitingNote', () => {
  it('says when a reservation is due, that a walk-in came in person, and where a transfer came from', () => {
    expect(waitingNote({ kind: 'reservation', slot: { start: '2026-12-04T09:30:00', end: '2026-12-04T10:00:00' } })).toBe('09:30–10:00')
    expect(waitingNote({ kind: 'walk_in', slot: null })).toBe('现场')
    expect(waitingNote({ kind: 'transferred', slot: null, transfer: { id: 't', from_window: 3 } })).toBe('3号窗口转来')
    expect(waitingNote({ kind: 'transferred', slot: null, transfer: null })).toBe('转来')
  })
})
