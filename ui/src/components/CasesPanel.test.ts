import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { CaseView } from '../api/contract'

const call = vi.fn()
vi.mock('../api/desk', () => ({ call: (...a: unknown[]) => call(...a) }))

import CasesPanel from './CasesPanel.vue'

function aCase(over: Partial<CaseView> = {}): CaseView {
  return {
    id: 7,
    kind: 'supervision',
    kind_zh: '督办',
    cause_label: '原因',
    item_number: 'ZX20261201-0001',
    unit_name: '县公安局',
    reason: '咨询答复超期',
    stage: 'open',
    stage_zh: '待答复',
    waiting_zh: '待单位答复',
    opened_at: '2026-12-01 09:00',
    due_label: '答复期限 12-04 09:00',
    overdue: false,
    can_answer: true,
    can_review: false,
    can_appeal: false,
    can_decide_appeal: false,
    steps: [],
    ...over,
  }
}

describe('CasesPanel', () => {
  beforeEach(() => {
    call.mockReset()
  })

  it('lists the cases and answers one with cause and correction', async () => {
    call.mockResolvedValueOnce([aCase()])
    const w = mount(CasesPanel, { attachTo: document.body })
    await flushPromises()
    expect(call).toHaveBeenCalledWith('supervision_cases', { open_only: true })
    expect(w.findAll('[data-testid="case-row"]')).toHaveLength(1)
    expect(w.text()).toContain('咨询答复超期')
    expect(w.find('[data-testid="case-close"]').exists()).toBe(false)

    await w.find('[data-testid="case-answer"]').trigger('click')
    await w.find('[data-testid="dialog-confirm"]').trigger('submit')
    expect(w.find('[data-testid="dialog-error"]').text()).toBe('请填写原因；请填写整改措施')
    expect(call).toHaveBeenCalledTimes(1)

    await w.find('[data-testid="case-cause"]').setValue(' 请假未交接 ')
    await w.find('[data-testid="case-correction"]').setValue('明确A/B角')
    call.mockResolvedValueOnce(
      aCase({
        stage: 'answered',
        stage_zh: '待审核',
        can_answer: false,
        steps: [{ at: '12-02 10:00', actor: '李局长', action_zh: '答复', text: '原因：请假未交接；整改：明确A/B角' }],
      }),
    )
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(call).toHaveBeenLastCalledWith('case_answer', { id: 7, cause: '请假未交接', correction: '明确A/B角' })
    expect(w.find('[data-testid="case-stage"]').text()).toBe('待审核')
    expect(w.text()).toContain('原因：请假未交接；整改：明确A/B角')
    expect(w.find('[data-testid="case-answer"]').exists()).toBe(false)
    w.unmount()
  })

  it('a supervisor returns a case only with a reason, and a closed case leaves the open list', async () => {
    call.mockResolvedValueOnce([aCase({ stage: 'answered', can_answer: false, can_review: true })])
    const w = mount(CasesPanel, { attachTo: document.body })
    await flushPromises()
    await w.find('[data-testid="case-return"]').trigger('click')
    await w.find('form').trigger('submit')
    expect(w.find('[data-testid="dialog-error"]').text()).toBe('退回须写明原因')
    await w.find('[data-testid="dialog-cancel"]').trigger('click')

    await w.find('[data-testid="case-close"]').trigger('click')
    call.mockResolvedValueOnce(aCase({ stage: 'closed', can_review: false }))
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(call).toHaveBeenLastCalledWith('case_step', { id: 7, action: 'close', note: '' })
    expect(w.find('[data-testid="cases-empty"]').exists()).toBe(true)
    w.unmount()
  })

  it('a unit appeals a bad rating only with its reason', async () => {
    const followUp = aCase({ kind: 'follow_up', kind_zh: '差评回访', cause_label: '回访情况', can_appeal: true })
    call.mockResolvedValueOnce([followUp])
    const w = mount(CasesPanel, { attachTo: document.body })
    await flushPromises()
    await w.find('[data-testid="case-answer"]').trigger('click')
    expect(w.text()).toContain('回访情况')
    await w.find('form').trigger('submit')
    expect(w.find('[data-testid="dialog-error"]').text()).toBe('请填写回访情况；请填写整改措施')
    await w.find('[data-testid="dialog-cancel"]').trigger('click')

    await w.find('[data-testid="case-appeal"]').trigger('click')
    await w.find('form').trigger('submit')
    expect(w.find('[data-testid="dialog-error"]').text()).toBe('申诉须写明理由')
    await w.find('[data-testid="case-note"]').setValue('评议人并非办事群众')
    call.mockResolvedValueOnce({ ...followUp, stage: 'appealed', stage_zh: '申诉中', can_answer: false, can_appeal: false })
    await w.find('form').trigger('submit')
    await flushPromises()
    expect(call).toHaveBeenLastCalledWith('case_step', { id: 7, action: 'appeal', note: '评议人并非办事群众' })
    expect(w.find('[data-testid="case-stage"]').text()).toBe('申诉中')
    expect(w.find('[data-testid="case-uphold"]').exists()).toBe(false)
    w.unmount()
  })

  it('says why there is nothing when the server cannot be reached', async () => {
    call.mockRejectedValueOnce({ code: 'offline', message: '无法连接服务器' })
    const w = mount(CasesPanel)
    await flushPromises()
    expect(w.find('[data-testid="cases-error"]').text()).toBe('无法连接服务器')
  })
})
