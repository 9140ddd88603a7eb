import { describe, expect, it } from 'vitest'
import type { Rejection } from '../api/contract'
import { addRejection, rejectionText } from './rejections'

const rej = (id: string): Rejection => ({
  mutation_id: id,
  item_id: 'i1',
  item_number: 'SQ20261201-0001',
  op_type: 'claim',
  code: 'invalid_state',
  message: '该办件已由他人认领',
  at: '2026-12-01T01:00:00Z',
})

describe('rejections', () => {
  it('formats the notice', () => {
    expect(rejectionText(rej('m1'))).toBe('服务器拒绝了您的操作，已撤销：SQ20261201-0001 该办件已由他人认领')
  })
  it('adds newest first without duplicates', () => {
    let list = addRejection([], rej('m1'))
    list = addRejection(list, rej('m2'))
    list = addRejection(list, rej('m1'))
    expect(list.map((r) => r.mutation_id)).toEqual(['m2', 'm1'])
  })
})
