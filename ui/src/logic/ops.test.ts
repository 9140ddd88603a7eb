import { describe, expect, it } from 'vitest'
import { actionLabel, buildOp, emptyForm, missingMaterials, primaryAction, type OpForm } from './ops'

const form = (over: Partial<OpForm>): OpForm => ({ ...emptyForm(), ...over })

describe('buildOp', () => {
  it('builds simple ops without form data', () => {
    expect(buildOp('claim', emptyForm())).toEqual({ ok: true, op: { type: 'claim' } })
    expect(buildOp('mark_read', emptyForm())).toEqual({ ok: true, op: { type: 'mark_read' } })
  })
  it('builds an accept with a local slot', () => {
    const r = buildOp('accept_reservation', form({ slotDate: '2026-12-01', slotStart: '09:00', slotEnd: '09:30' }))
    expect(r).toEqual({
      ok: true,
      op: { type: 'accept_reservation', slot: { start: '2026-12-01T09:00:00', end: '2026-12-01T09:30:00' } },
    })
  })
  it('rejects bad slots', () => {
    expect(buildOp('accept_reservation', form({ slotDate: '', slotStart: '09:00', slotEnd: '10:00' })).ok).toBe(false)
    expect(buildOp('accept_reservation', form({ slotDate: '2026-12-01', slotStart: '9:00', slotEnd: '10:00' })).ok).toBe(false)
    const r = buildOp('accept_reservation', form({ slotDate: '2026-12-01', slotStart: '10:00', slotEnd: '10:00' }))
    expect(r).toEqual({ ok: false, error: '结束时间必须晚于开始时间' })
  })
  it('requires a non-blank reason and trims it', () => {
    expect(buildOp('reject_reservation', form({ reason: '   ' })).ok).toBe(false)
    expect(buildOp('refuse_application', form({ reason: ' 不属于本单位职权 ' }))).toEqual({
      ok: true,
      op: { type: 'refuse_application', reason: '不属于本单位职权' },
    })
  })
  it('requires reply text', () => {
    expect(buildOp('reply_consultation', form({ reply: '' }))).toEqual({ ok: false, error: '请填写答复内容' })
    expect(buildOp('reply_complaint', form({ reply: '已核实处理' }))).toEqual({
      ok: true,
      op: { type: 'reply_complaint', reply: '已核实处理' },
    })
  })
  it('requires at least one supplement material', () => {
    expect(buildOp('request_supplement', form({ extraMaterials: '\n  \n' })).ok).toBe(false)
    expect(
      buildOp('request_supplement', form({ selectedMaterials: ['户口簿'], extraMaterials: '照片\n', note: ' 原件 ' })),
    ).toEqual({ ok: true, op: { type: 'request_supplement', missing: ['户口簿', '照片'], note: '原件' } })
  })
  it('only advances to an offered stage', () => {
    const d = { advance_to: [['review', '审核']] as [string, string][] }
    expect(buildOp('advance', form({ advanceTo: 'review' }), d)).toEqual({ ok: true, op: { type: 'advance', to: 'review' } })
    expect(buildOp('advance', form({ advanceTo: 'decision' }), d).ok).toBe(false)
    expect(buildOp('advance', form({ advanceTo: '' }), d).ok).toBe(false)
  })
  it('needs a unit and a reason to transfer', () => {
    expect(buildOp('transfer', form({ toUnitId: null, reason: 'x' })).ok).toBe(false)
    expect(buildOp('transfer', form({ toUnitId: 4, reason: '' })).ok).toBe(false)
    expect(buildOp('transfer', form({ toUnitId: 4, reason: '属民政局' }))).toEqual({
      ok: true,
      op: { type: 'transfer', to_unit_id: 4, reason: '属民政局' },
    })
  })
  it('refuses unknown op types and blank notes', () => {
    expect(buildOp('delete_everything', emptyForm()).ok).toBe(false)
    expect(buildOp('add_note', form({ text: ' ' })).ok).toBe(false)
    expect(buildOp('add_note', form({ text: '电话回访' }))).toEqual({ ok: true, op: { type: 'add_note', text: '电话回访' } })
  })
})

describe('missingMaterials', () => {
  it('keeps order, trims and de-duplicates', () => {
    expect(missingMaterials(['身份证', '户口簿'], ' 户口簿 \r\n证明\n\n')).toEqual(['身份证', '户口簿', '证明'])
  })
})

describe('actionLabel', () => {
  it('names notes on complaints 调查记录', () => {
    expect(actionLabel('add_note', 'complaint')).toBe('调查记录')
    expect(actionLabel('add_note', 'application')).toBe('备注')
    expect(actionLabel('accept_reservation')).toBe('受理预约')
    expect(actionLabel('future_op')).toBe('future_op')
  })
})

describe('delegated-case ops', () => {
  const proof = {
    hash: 'f'.repeat(64),
    size: 1000,
    mime: 'image/jpeg',
    file_name: '签收.jpg',
    material: '送达凭证',
  }
  it('labels the agent actions', () => {
    expect(actionLabel('hand_over')).toBe('递交窗口')
    expect(actionLabel('add_attachment')).toBe('添加材料')
    expect(actionLabel('collect_result')).toBe('领取结果')
    expect(actionLabel('deliver_to_citizen')).toBe('送达群众')
    expect(actionLabel('resubmit')).toBe('补正后重新提交')
  })
  it('hands over and collects with an optional, trimmed place', () => {
    expect(buildOp('hand_over', form({ place: ' 县政务服务中心 ' }))).toEqual({
      ok: true,
      op: { type: 'hand_over', place: '县政务服务中心' },
    })
    expect(buildOp('hand_over', form({ place: '  ' }))).toEqual({ ok: true, op: { type: 'hand_over', place: null } })
    expect(buildOp('collect_result', form({ place: '县政务服务中心' }))).toEqual({
      ok: true,
      op: { type: 'collect_result', place: '县政务服务中心' },
    })
  })
  it('delivers only with a recipient, a place and a proof', () => {
    expect(buildOp('deliver_to_citizen', form({ place: '东关村', proof }))).toEqual({ ok: false, error: '请填写签收人姓名' })
    expect(buildOp('deliver_to_citizen', form({ recipient: '张三', proof }))).toEqual({ ok: false, error: '请填写送达地点' })
    expect(buildOp('deliver_to_citizen', form({ recipient: '张三', place: '东关村' }))).toEqual({
      ok: false,
      error: '请拍摄或上传送达凭证（签收照片或签字）',
    })
    expect(buildOp('deliver_to_citizen', form({ recipient: ' 张三 ', place: ' 东关村 ', proof }))).toEqual({
      ok: true,
      op: { type: 'deliver_to_citizen', recipient: '张三', place: '东关村', proof },
    })
  })
  it('builds resubmit without a form', () => {
    expect(buildOp('resubmit', emptyForm())).toEqual({ ok: true, op: { type: 'resubmit' } })
    expect(buildOp('resubmit', { ...emptyForm(), place: ' 县政务服务中心 ' })).toEqual({
      ok: true,
      op: { type: 'resubmit', place: '县政务服务中心' },
    })
  })
})

describe('primaryAction', () => {
  it('moves the work forward rather than only taking the item', () => {
    expect(primaryAction(['claim', 'accept_reservation', 'reject_reservation'])).toBe('accept_reservation')
    expect(primaryAction(['claim', 'reply_consultation'])).toBe('reply_consultation')
    expect(primaryAction(['claim', 'transfer'])).toBe('claim')
    expect(primaryAction(['add_note'])).toBe('add_note')
    expect(primaryAction([])).toBeNull()
  })
})
