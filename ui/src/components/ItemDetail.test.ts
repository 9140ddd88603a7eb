import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'

const invoke = vi.fn()
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))

import ItemDetail from './ItemDetail.vue'
import { detail } from '../test/fixtures'

beforeEach(() => {
  invoke.mockReset()
})
afterEach(() => {
  document.body.replaceChildren()
})

describe('ItemDetail', () => {
  it('renders citizen text as text, never as HTML', () => {
    const evil = '<img src=x onerror=alert(1)>'
    const w = mount(ItemDetail, {
      props: {
        detail: detail({
          content: evil,
          title: `<b>${evil}</b>`,
          applicant: { name: '<script>alert(2)</script>', id_number: '1', phone: '2', revealable: false },
          history: [{ at: '2026-12-01T01:00:00Z', actor_name: '<i>x</i>', action: 'a', action_name: '备注', status_name: 's', note: evil, place: null }],
        }),
      },
    })
    expect(w.get('[data-testid="detail-content"]').text()).toBe(evil)
    expect(w.get('[data-testid="detail-title"]').text()).toContain(evil)
    expect(w.get('[data-testid="detail-applicant-name"]').text()).toBe('<script>alert(2)</script>')
    expect(w.find('img').exists()).toBe(false)
    expect(w.find('b').exists()).toBe(false)
    expect(w.find('script').exists()).toBe(false)
    expect(w.find('i').exists()).toBe(false)
  })

  it('shows numbers masked and reveals one on request, through the shell', async () => {
    const w = mount(ItemDetail, { props: { detail: detail() } })
    expect(w.get('[data-testid="detail-applicant-id_number"]').text()).toBe('1304**********1234')
    expect(w.get('[data-testid="detail-applicant-phone"]').text()).toBe('138****0000')
    invoke.mockResolvedValueOnce('130400199001011234')
    await w.get('[data-testid="reveal-id_number"]').trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenLastCalledWith('reveal_personal', { req: { id: detail().id, field: 'id_number' } })
    expect(w.get('[data-testid="detail-applicant-id_number"]').text()).toBe('130400199001011234')
    expect(w.find('[data-testid="reveal-id_number"]').exists()).toBe(false)
    // The phone stays masked until asked for; another item shows masked again.
    expect(w.get('[data-testid="detail-applicant-phone"]').text()).toBe('138****0000')
    await w.setProps({ detail: detail({ id: 'other-item' }) })
    expect(w.get('[data-testid="detail-applicant-id_number"]').text()).toBe('1304**********1234')
  })

  it('offers no reveal to users who only see masked data', () => {
    const base = detail()
    const w = mount(ItemDetail, { props: { detail: detail({ applicant: { ...base.applicant, revealable: false } }) } })
    expect(w.find('[data-testid="reveal-id_number"]').exists()).toBe(false)
    expect(w.find('[data-testid="reveal-phone"]').exists()).toBe(false)
  })

  it('shows only the allowed actions', () => {
    const w = mount(ItemDetail, { props: { detail: detail({ allowed_actions: ['claim', 'add_note'] }) } })
    expect(w.find('[data-testid="action-claim"]').exists()).toBe(true)
    expect(w.find('[data-testid="action-add_note"]').exists()).toBe(true)
    expect(w.find('[data-testid="action-accept_reservation"]').exists()).toBe(false)
  })

  it('shows the pending marker, rating stars and provisional countdown', () => {
    const base = detail()
    const w = mount(ItemDetail, {
      props: {
        detail: detail({
          kind: 'evaluation',
          pending_ops: 2,
          rating: 3,
          countdown: { ...base.countdown!, level: 'warning', provisional: true },
        }),
      },
    })
    expect(w.get('[data-testid="detail-pending"]').text()).toBe('本地修改待同步（2）')
    expect(w.text()).toContain('★★★☆☆')
    const cd = w.get('[data-testid="detail-countdown"]')
    expect(cd.text()).toContain('（暂定）')
    expect(cd.classes()).toContain('cd-warning')
  })

  it('acts directly for simple actions and emits the new detail', async () => {
    const next = detail({ status: 'claimed', allowed_actions: [] })
    invoke.mockResolvedValue(next)
    const w = mount(ItemDetail, { props: { detail: detail() } })
    await w.get('[data-testid="action-claim"]').trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', { req: { id: 'i1', op: { type: 'claim' } } })
    expect(w.emitted('updated')?.[0]).toEqual([next])
  })

  it('accepts a reservation with a slot picked from those offered, the asked one first', async () => {
    const days = [
      {
        date: '2026-12-01',
        label: '12月1日 周二',
        slots: [
          { start: '2026-12-01T08:30:00', end: '2026-12-01T09:00:00' },
          { start: '2026-12-01T09:00:00', end: '2026-12-01T10:00:00' },
        ],
      },
      { date: '2026-12-02', label: '12月2日 周三', slots: [{ start: '2026-12-02T14:00:00', end: '2026-12-02T14:30:00' }] },
    ]
    invoke.mockImplementation(async (cmd: string) => (cmd === 'reservation_slots' ? days : detail({ status: 'accepted' })))
    const w = mount(ItemDetail, { props: { detail: detail() }, attachTo: document.body })
    await w.get('[data-testid="action-accept_reservation"]').trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('reservation_slots', { req: { id: 'i1' } })
    // Times are picked, not typed: selects only.
    expect(w.find('input[data-testid="slot-start"]').exists()).toBe(false)
    expect((w.get('[data-testid="slot-date"]').element as HTMLSelectElement).value).toBe('2026-12-01')
    expect((w.get('[data-testid="slot-time"]').element as HTMLSelectElement).value).toBe('09:00-10:00')
    // Loaded: the keyboard goes on in the picker.
    expect(document.activeElement).toBe(w.get('[data-testid="slot-date"]').element)
    // Another day: its first slot.
    await w.get('[data-testid="slot-date"]').setValue('2026-12-02')
    await flushPromises()
    expect((w.get('[data-testid="slot-time"]').element as HTMLSelectElement).value).toBe('14:00-14:30')
    await w.get('[data-testid="dialog-confirm"]').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', {
      req: {
        id: 'i1',
        op: { type: 'accept_reservation', slot: { start: '2026-12-02T14:00:00', end: '2026-12-02T14:30:00' } },
      },
    })
    expect(w.find('[data-testid="dialog-confirm"]').exists()).toBe(false)
    w.unmount()
  })

  it('says so when no slot inside office hours is left', async () => {
    invoke.mockImplementation(async () => [])
    const w = mount(ItemDetail, { props: { detail: detail() }, attachTo: document.body })
    await w.get('[data-testid="action-accept_reservation"]').trigger('click')
    await flushPromises()
    expect(w.text()).toContain('近期没有可预约的办公时段')
    expect(w.find('[data-testid="slot-date"]').exists()).toBe(false)
    w.unmount()
  })

  it('validates a reject reason before calling the shell, and Esc closes the dialog', async () => {
    const w = mount(ItemDetail, { props: { detail: detail() }, attachTo: document.body })
    await w.get('[data-testid="action-reject_reservation"]').trigger('click')
    await w.get('form.modal').trigger('submit')
    expect(w.get('[data-testid="dialog-error"]').text()).toBe('请填写拒绝理由')
    expect(invoke).not.toHaveBeenCalled()
    await w.get('[data-testid="reason-input"]').trigger('keydown', { key: 'Escape' })
    expect(w.find('[data-testid="reason-input"]').exists()).toBe(false)
    w.unmount()
  })

  it('shows the shell error message when an action fails', async () => {
    invoke.mockImplementation(async () => {
      throw { code: 'not_permitted', message: '您无权办理该事项' }
    })
    const w = mount(ItemDetail, { props: { detail: detail() } })
    await w.get('[data-testid="action-claim"]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid="action-error"]').text()).toBe('您无权办理该事项')
  })

  it('requests a supplement from checked materials and offers the notice for printing', async () => {
    const app = detail({ kind: 'application', allowed_actions: ['request_supplement'] })
    invoke.mockResolvedValue({ ...app, status: 'supplement', missing_materials: ['户口簿', '照片'] })
    const w = mount(ItemDetail, { props: { detail: app }, attachTo: document.body })
    await w.get('[data-testid="action-request_supplement"]').trigger('click')
    await w.get('[data-testid="supplement-material-1"]').setValue(true)
    await w.get('[data-testid="supplement-extra"]').setValue('照片')
    await w.get('form.modal').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', {
      req: { id: 'i1', op: { type: 'request_supplement', missing: ['户口簿', '照片'], note: '' } },
    })
    await w.get('[data-testid="print-offer"]').trigger('click')
    const doc = w.emitted('print')?.[0]?.[0] as { title: string; lines: string[] }
    expect(doc.title).toBe('一次性告知书')
    expect(doc.lines).toContain('1. 户口簿')
    expect(doc.lines).toContain('2. 照片')
    w.unmount()
  })

  it('reprints the 不予受理通知书 of a refused item from its written reason', async () => {
    const refused = detail({
      kind: 'application',
      status: 'refused',
      status_name: '不予受理',
      reply: '不属于本机关职权范围',
      allowed_actions: [],
      unit_name: '县公安局',
    })
    const w = mount(ItemDetail, { props: { detail: refused } })
    expect(w.text()).toContain('不予受理理由')
    expect(w.get('[data-testid="detail-reply"]').text()).toBe('不属于本机关职权范围')
    await w.get('[data-testid="print-refusal"]').trigger('click')
    const doc = w.emitted('print')?.[0]?.[0] as { kind: string; title: string; lines: string[]; footer: string[] }
    expect(doc.kind).toBe('refusal')
    expect(doc.title).toBe('不予受理通知书')
    expect(doc.lines).toContain('理由：不属于本机关职权范围')
    expect(doc.lines.some((l) => l.includes('YY20261130-0003'))).toBe(true)
    expect(doc.footer).toContain('县公安局')
    expect(invoke).not.toHaveBeenCalled()
  })

  it('offers the refusal reprint only for refused items, and not without a reason', async () => {
    const w = mount(ItemDetail, { props: { detail: detail({ reply: '已答复' }) } })
    expect(w.find('[data-testid="print-refusal"]').exists()).toBe(false)
    await w.setProps({ detail: detail({ kind: 'application', status: 'refused', reply: null }) })
    const btn = w.get('[data-testid="print-refusal"]')
    expect(btn.attributes('disabled')).toBeDefined()
    await btn.trigger('click')
    expect(w.emitted('print')).toBeUndefined()
  })

  it('after refusing, the detail offers the notice and keeps the reprint button', async () => {
    const app = detail({ kind: 'application', status: 'submitted', allowed_actions: ['refuse_application'] })
    const refused = { ...app, status: 'refused', reply: '材料不属于本事项', allowed_actions: [] }
    invoke.mockResolvedValue(refused)
    const w = mount(ItemDetail, { props: { detail: app }, attachTo: document.body })
    expect(w.find('[data-testid="print-refusal"]').exists()).toBe(false)
    await w.get('[data-testid="action-refuse_application"]').trigger('click')
    await w.get('[data-testid="reason-input"]').setValue('材料不属于本事项')
    await w.get('form.modal').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', { req: { id: 'i1', op: { type: 'refuse_application', reason: '材料不属于本事项' } } })
    await w.setProps({ detail: refused })
    await w.get('[data-testid="print-refusal"]').trigger('click')
    const doc = w.emitted('print')?.[0]?.[0] as { lines: string[] }
    expect(doc.lines).toContain('理由：材料不属于本事项')
    w.unmount()
  })
})
