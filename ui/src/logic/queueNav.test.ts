import { describe, expect, it } from 'vitest'
import { keepSelection, moveSelection } from './queueNav'

const ids = ['a', 'b', 'c']

describe('queue navigation', () => {
  it('moves down and up, clamping at the ends', () => {
    expect(moveSelection(ids, 'a', 1)).toBe('b')
    expect(moveSelection(ids, 'c', 1)).toBe('c')
    expect(moveSelection(ids, 'b', -1)).toBe('a')
    expect(moveSelection(ids, 'a', -1)).toBe('a')
  })
  it('starts at the top (down) or bottom (up) without a selection', () => {
    expect(moveSelection(ids, null, 1)).toBe('a')
    expect(moveSelection(ids, null, -1)).toBe('c')
    expect(moveSelection(ids, 'gone', 1)).toBe('a')
    expect(moveSelection([], null, 1)).toBeNull()
  })
  it('keeps a still-present selection after reload, else the first row', () => {
    expect(keepSelection(ids, 'b')).toBe('b')
    expect(keepSelection(ids, 'x')).toBe('a')
    expect(keepSelection([], 'b')).toBeNull()
  })
})
