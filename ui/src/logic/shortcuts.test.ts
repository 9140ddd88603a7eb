import { describe, expect, it } from 'vitest'
import { keyContext, mapKey } from './shortcuts'

describe('shortcut mapping', () => {
  it('maps F1–F6 to queue views, even while typing', () => {
    expect(mapKey({ key: 'F1' }, 'other')).toEqual({ type: 'view', view: 'mine' })
    expect(mapKey({ key: 'F2' }, 'editable')).toEqual({ type: 'view', view: 'unit' })
    expect(mapKey({ key: 'F3' }, 'other')).toEqual({ type: 'view', view: 'due_soon' })
    expect(mapKey({ key: 'F4' }, 'other')).toEqual({ type: 'view', view: 'overdue' })
    expect(mapKey({ key: 'F5' }, 'search')).toEqual({ type: 'view', view: 'reservation' })
    expect(mapKey({ key: 'F6' }, 'other')).toEqual({ type: 'view', view: 'all' })
  })
  it('focuses search with / (not while typing) and Ctrl+F (always)', () => {
    expect(mapKey({ key: '/' }, 'other')).toEqual({ type: 'focus-search' })
    expect(mapKey({ key: '/' }, 'queue')).toEqual({ type: 'focus-search' })
    expect(mapKey({ key: '/' }, 'search')).toBeNull()
    expect(mapKey({ key: '/' }, 'editable')).toBeNull()
    expect(mapKey({ key: 'f', ctrlKey: true }, 'editable')).toEqual({ type: 'focus-search' })
    expect(mapKey({ key: 'c', ctrlKey: true }, 'other')).toBeNull()
  })
  it('moves with arrows except inside other inputs', () => {
    expect(mapKey({ key: 'ArrowDown' }, 'search')).toEqual({ type: 'move', delta: 1 })
    expect(mapKey({ key: 'ArrowUp' }, 'queue')).toEqual({ type: 'move', delta: -1 })
    expect(mapKey({ key: 'ArrowDown' }, 'editable')).toBeNull()
  })
  it('opens with Enter from the search box, the queue or the page itself, not from other controls', () => {
    expect(mapKey({ key: 'Enter' }, 'queue')).toEqual({ type: 'open' })
    expect(mapKey({ key: 'Enter' }, 'search')).toEqual({ type: 'open' })
    // After F5 the focus is on nothing in particular: Enter still opens (issue 13).
    expect(mapKey({ key: 'Enter' }, 'page')).toEqual({ type: 'open' })
    expect(mapKey({ key: 'Enter' }, 'other')).toBeNull()
    expect(mapKey({ key: 'Enter' }, 'editable')).toBeNull()
  })
  it('takes the page itself for the page context', () => {
    expect(keyContext(document.body)).toBe('page')
    expect(keyContext(document.createElement('button'))).toBe('other')
  })
  it('has no counter keys where there is no counter', () => {
    expect(mapKey({ key: 'F9' }, 'other', 'office')).toBeNull()
    expect(mapKey({ key: 'F10' }, 'other', 'office')).toBeNull()
    expect(mapKey({ key: 'F6' }, 'other', 'office')).toEqual({ type: 'view', view: 'all' })
  })
  it('maps F9/F10 to the counter and ignores Alt combos', () => {
    expect(mapKey({ key: 'F9' }, 'other')).toEqual({ type: 'counter', op: 'call_next' })
    expect(mapKey({ key: 'F10' }, 'other')).toEqual({ type: 'counter', op: 'walk_in' })
    expect(mapKey({ key: 'F1', altKey: true }, 'other')).toBeNull()
  })
  it('gives agents F2 for registration and no counter keys', () => {
    expect(mapKey({ key: 'F2' }, 'other', 'agent')).toEqual({ type: 'register-case' })
    expect(mapKey({ key: 'F2' }, 'editable', 'agent')).toEqual({ type: 'register-case' })
    expect(mapKey({ key: 'F1' }, 'other', 'agent')).toEqual({ type: 'view', view: 'mine' })
    expect(mapKey({ key: 'F4' }, 'other', 'agent')).toEqual({ type: 'view', view: 'overdue' })
    expect(mapKey({ key: 'F5' }, 'other', 'agent')).toBeNull()
    expect(mapKey({ key: 'F9' }, 'other', 'agent')).toBeNull()
    expect(mapKey({ key: 'F10' }, 'other', 'agent')).toBeNull()
    expect(mapKey({ key: 'ArrowDown' }, 'queue', 'agent')).toEqual({ type: 'move', delta: 1 })
    // Clerks keep F2 for 本单位.
    expect(mapKey({ key: 'F2' }, 'other', 'clerk')).toEqual({ type: 'view', view: 'unit' })
  })
  it('opens the assessment board with F8 for clerks and offices (even while typing), not for agents', () => {
    expect(mapKey({ key: 'F8' }, 'other', 'clerk')).toEqual({ type: 'stats' })
    expect(mapKey({ key: 'F8' }, 'editable', 'office')).toEqual({ type: 'stats' })
    expect(mapKey({ key: 'F8' }, 'queue')).toEqual({ type: 'stats' })
    expect(mapKey({ key: 'F8' }, 'other', 'agent')).toBeNull()
    expect(mapKey({ key: 'F8', ctrlKey: true }, 'other')).toBeNull()
  })
  it('classifies targets', () => {
    document.body.replaceChildren()
    const search = document.createElement('input')
    search.setAttribute('data-testid', 'queue-search')
    const list = document.createElement('div')
    list.setAttribute('data-queue-list', '')
    const cell = document.createElement('td')
    list.appendChild(cell)
    const area = document.createElement('textarea')
    const btn = document.createElement('button')
    document.body.append(search, list, area, btn)
    expect(keyContext(search)).toBe('search')
    expect(keyContext(cell)).toBe('queue')
    expect(keyContext(area)).toBe('editable')
    expect(keyContext(btn)).toBe('other')
    expect(keyContext(null)).toBe('other')
  })
})
