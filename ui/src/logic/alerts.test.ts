import { describe, expect, it } from 'vitest'
import type { Alert } from '../api/contract'
import { MAX_ALERTS, addAlert, moreAlertsText, removeAlert, withdrawItems } from './alerts'

const al = (item_id: string, kind = 'reservation_new', text = `新预约 ${item_id}`): Alert => ({
  item_id,
  item_number: item_id,
  kind,
  text,
})

describe('alerts', () => {
  it('withdraws every alert of the items that no longer wait, and only those', () => {
    const list = [al('a'), al('b', 'ladder_b'), al('b'), al('c')]
    expect(withdrawItems(list, ['b']).map((a) => a.item_id)).toEqual(['a', 'c'])
    expect(withdrawItems(list, [])).toEqual(list)
    expect(withdrawItems(list, ['x', 'a', 'c']).map((a) => a.kind)).toEqual(['ladder_b', 'reservation_new'])
  })
  it('puts the newest alert first', () => {
    let list: Alert[] = []
    list = addAlert(list, al('a'))
    list = addAlert(list, al('b'))
    list = addAlert(list, al('c'))
    expect(list.map((a) => a.item_id)).toEqual(['c', 'b', 'a'])
  })
  it('replaces a repeated alert for the same item and kind and moves it to the front', () => {
    let list = [al('b'), al('a', 'reservation_new', '旧')]
    list = addAlert(list, al('a', 'reservation_new', '新'))
    expect(list.map((a) => a.text)).toEqual(['新', '新预约 b'])
    list = addAlert(list, al('a', 'ladder_b'))
    expect(list).toHaveLength(3)
  })
  it('keeps a bounded list', () => {
    let list: Alert[] = []
    for (let i = 0; i < MAX_ALERTS + 5; i++) list = addAlert(list, al(`i${i}`))
    expect(list).toHaveLength(MAX_ALERTS)
    expect(list[0].item_id).toBe(`i${MAX_ALERTS + 4}`)
  })
  it('removes by item and kind', () => {
    const list = [al('a'), al('a', 'ladder_b'), al('b')]
    expect(removeAlert(list, { item_id: 'a', kind: 'ladder_b' }).map((a) => a.kind + a.item_id)).toEqual([
      'reservation_newa',
      'reservation_newb',
    ])
  })
  it('counts the hidden alerts', () => {
    expect(moreAlertsText(0)).toBe('')
    expect(moreAlertsText(1)).toBe('')
    expect(moreAlertsText(4)).toBe('另有 3 条提醒')
  })
})
