import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'

const invoke = vi.fn()
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...a: unknown[]) => invoke(...a) }))

import ItemDetail from './ItemDetail.vue'
import { attachment, delegatedDetail, delegation } from '../test/fixtures'
import { placeKey } from '../logic/delegation'
import type { ItemDetail as Detail } from '../api/contract'

type Raw = (body: Uint8Array, opts: { headers: Record<string, string> }) => unknown
let handlers: Record<string, (req: unknown) => unknown>
let capture: Raw
const created: string[] = []
const revoked: string[] = []

beforeEach(() => {
  invoke.mockReset()
  created.length = 0
  revoked.length = 0
  localStorage.clear()
  let n = 0
  // jsdom has no object URLs.
  URL.createObjectURL = vi.fn(() => {
    const u = `blob:test/${++n}`
    created.push(u)
    return u
  })
  URL.revokeObjectURL = vi.fn((u: string) => void revoked.push(u))
  handlers = { attachment: () => new Uint8Array([0xff, 0xd8, 0xff]).buffer }
  capture = () => attachment({ hash: 'n'.repeat(64), file_name: '准迁证.jpg', material: '准迁证' })
  invoke.mockImplementation(async (cmd: string, args?: unknown, opts?: unknown) => {
    if (cmd === 'capture_attachment') return capture(args as Uint8Array, opts as { headers: Record<string, string> })
    const h = handlers[cmd]
    if (!h) throw { code: 'other', message: `unexpected command ${cmd}` }
    return h((args as { req?: unknown } | undefined)?.req)
  })
})
afterEach(() => {
  document.body.replaceChildren()
})

function file(name: string, bytes = [0xff, 0xd8, 0xff, 0xe0]): File {
  const f = new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' })
  Object.defineProperty(f, 'arrayBuffer', { value: async () => new Uint8Array(bytes).buffer })
  return f
}

async function pick(w: VueWrapper, testid: string, files: File[]) {
  const input = w.get(`[data-testid="${testid}"]`)
  Object.defineProperty(input.element, 'files', { value: files, configurable: true })
  await input.trigger('change')
}

const calls = (cmd: string) => invoke.mock.calls.filter((c) => c[0] === cmd)

describe('ItemDetail of a delegated case', () => {
  it('shows the checklist with thumbnails, the custody chain and the citizen progress', async () => {
    const w = mount(ItemDetail, { props: { detail: delegatedDetail({ allowed_actions: [] }) } })
    await flushPromises()
    expect(w.get('[data-testid="citizen-progress"]').text()).toBe('材料已递交受理窗口，等待预审')
    expect(w.get('[data-testid="detail-agent"]').text()).toBe('王代办')
    expect(w.get('[data-testid="checklist-summary"]').text()).toBe('已齐 2/3')
    expect(w.get('[data-testid="checklist-requested"]').text()).toBe('需补正 1 项')

    const rows = w.findAll('[data-testid="material-row"]')
    expect(rows.map((r) => r.attributes('data-material'))).toEqual(['居民身份证', '户口簿', '准迁证'])
    expect(rows.map((r) => r.attributes('data-missing'))).toEqual(['false', 'false', 'true'])
    expect(rows[2].get('[data-testid="material-missing"]').text()).toBe('缺')
    expect(rows[2].get('[data-testid="material-requested"]').text()).toBe('需补正')
    expect(rows[2].classes()).toContain('requested')
    expect(rows[0].find('[data-testid="material-missing"]').exists()).toBe(false)

    // An image: thumbnail from a blob: URL made of the attachment's bytes.
    const img = rows[0].get('[data-testid="attachment"]')
    expect(img.attributes('data-kind')).toBe('image')
    expect(img.get('[data-testid="attachment-name"]').text()).toBe('身份证正面.jpg')
    expect(img.get('[data-testid="attachment-size"]').text()).toBe('240 KB')
    expect(img.get('img').attributes('src')).toMatch(/^blob:/)
    expect(invoke).toHaveBeenCalledWith('attachment', { req: { hash: 'a'.repeat(64) } })
    // A PDF: a label, no image and no bytes fetched.
    const pdf = rows[1].get('[data-testid="attachment"]')
    expect(pdf.attributes('data-kind')).toBe('pdf')
    expect(pdf.text()).toContain('PDF')
    expect(pdf.find('img').exists()).toBe(false)
    expect(pdf.get('[data-testid="attachment-size"]').text()).toBe('1.5 MB')
    expect(calls('attachment')).toHaveLength(1)

    // No capture controls for someone who may not add files (e.g. the window clerk).
    expect(w.find('[data-testid^="material-capture"]').exists()).toBe(false)

    const steps = w.findAll('[data-testid="custody-entry"]')
    expect(steps.map((s) => s.get('[data-testid="custody-step"]').text())).toEqual([
      '群众 → 代办员（登记收件）',
      '代办员 → 受理窗口（递交）',
    ])
    expect(steps[1].get('[data-testid="custody-at"]').text()).toBe('2026-11-30 14:30')
    expect(steps[1].get('[data-testid="custody-actor"]').text()).toBe('王代办')
    expect(steps[1].get('[data-testid="custody-place"]').text()).toBe('地点：县政务服务中心')
    expect(steps[1].get('[data-testid="custody-note"]').text()).toBe('原件已核对')
    expect(steps[0].find('[data-testid="custody-note"]').exists()).toBe(false)

    w.unmount()
    expect(revoked).toEqual(created)
    expect(created).toHaveLength(1)
  })

  it('shows a capture error inline and keeps the files already there', async () => {
    let fail: (e: unknown) => void = () => {}
    capture = () => new Promise((_, reject) => (fail = reject))
    const d = delegatedDetail()
    const w = mount(ItemDetail, { props: { detail: d } })
    await flushPromises()
    expect(w.get('[data-testid="material-capture-input-0"]').attributes('accept')).toBe('image/jpeg,image/png,application/pdf')
    await pick(w, 'material-capture-input-0', [file('第二张.jpg')])
    const btn = w.get('[data-testid="material-capture-0"]')
    expect(btn.text()).toBe('处理中…')
    expect(btn.attributes('disabled')).toBeDefined()
    const [, body, opts] = calls('capture_attachment')[0]
    expect(Array.from(body as Uint8Array)).toEqual([0xff, 0xd8, 0xff, 0xe0])
    expect((opts as { headers: Record<string, string> }).headers).toEqual({
      'x-item-id': 'd1',
      'x-material': encodeURIComponent('居民身份证'),
      'x-file-name': encodeURIComponent('第二张.jpg'),
      'x-purpose': 'material',
    })
    fail({ code: 'attachment_type_mismatch', message: '文件内容与类型不符：标称为JPEG图片，实际内容为PDF文件' })
    await flushPromises()
    expect(w.get('[data-testid="material-capture-error-0"]').text()).toBe('文件内容与类型不符：标称为JPEG图片，实际内容为PDF文件')
    expect(w.find('[data-testid="material-capture-error-1"]').exists()).toBe(false)
    expect(btn.text()).toBe('拍照/添加文件')
    expect(btn.attributes('disabled')).toBeUndefined()
    const row = w.findAll('[data-testid="material-row"]')[0]
    expect(row.findAll('[data-testid="attachment"]')).toHaveLength(1)
    expect(row.get('[data-testid="attachment-name"]').text()).toBe('身份证正面.jpg')
    // Nothing reloaded and nothing reported as changed.
    expect(calls('item')).toHaveLength(0)
    expect(w.emitted('updated')).toBeUndefined()
  })

  it('adds files to a material, reloads the case, and reports each failed file of several', async () => {
    const next: Detail = delegatedDetail({
      delegation: delegation({
        checklist: [
          ...delegation().checklist.slice(0, 2),
          { material: '准迁证', attachments: [attachment({ hash: 'n'.repeat(64), file_name: '准迁证.jpg' })], requested: true },
        ],
      }),
    })
    handlers.item = () => next
    capture = (_b, opts) => {
      if (decodeURIComponent(opts.headers['x-file-name']) === '空.jpg') throw { code: 'attachment_empty', message: '文件为空' }
      return attachment({ hash: 'n'.repeat(64), file_name: '准迁证.jpg', material: '准迁证' })
    }
    const w = mount(ItemDetail, { props: { detail: delegatedDetail() } })
    await flushPromises()
    await pick(w, 'material-capture-input-2', [file('准迁证.jpg'), file('空.jpg', [])])
    await flushPromises()
    expect(calls('capture_attachment')).toHaveLength(2)
    expect(calls('item')).toEqual([['item', { req: { id: 'd1' } }]])
    expect(w.emitted('updated')?.[0]).toEqual([next])
    expect(w.get('[data-testid="material-capture-error-2"]').text()).toBe('空.jpg：文件为空')
    await w.setProps({ detail: next })
    await flushPromises()
    expect(w.get('[data-testid="checklist-summary"]').text()).toBe('已齐 3/3')
    // The error stays until the next try.
    expect(w.find('[data-testid="material-capture-error-2"]').exists()).toBe(true)
  })

  it('takes the agent to the first missing material with 添加材料', async () => {
    const w = mount(ItemDetail, { props: { detail: delegatedDetail() }, attachTo: document.body })
    await flushPromises()
    await w.get('[data-testid="action-add_attachment"]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid="action-add_attachment"]').text()).toBe('添加材料')
    expect(document.activeElement).toBe(w.get('[data-testid="material-capture-2"]').element)
    expect(invoke.mock.calls.filter((c) => c[0] === 'act')).toHaveLength(0)
    w.unmount()
  })

  it('renders markup in file names, notes and places as text', async () => {
    const evil = '<img src=x onerror=alert(1)>'
    const w = mount(ItemDetail, {
      props: {
        detail: delegatedDetail({
          delegation: delegation({
            agent_name: evil,
            citizen_progress: evil,
            checklist: [
              { material: evil, attachments: [attachment({ file_name: evil, material: evil })], requested: true },
              { material: '户口簿', attachments: [attachment({ hash: 'p', mime: 'application/pdf', file_name: evil })], requested: false },
            ],
            custody: [{ at: '2026-11-30T01:00:00Z', step: 'x', step_name: evil, actor_name: evil, place: evil, note: evil }],
            delivery: { recipient: evil, proof: attachment({ hash: 'q', file_name: evil }) },
          }),
        }),
      },
      attachTo: document.body,
    })
    await flushPromises()
    expect(w.get('[data-testid="material-name"]').text()).toBe(evil)
    expect(w.findAll('[data-testid="attachment-name"]').map((n) => n.text())).toEqual([evil, evil, evil])
    expect(w.get('[data-testid="custody-place"]').text()).toBe(`地点：${evil}`)
    expect(w.get('[data-testid="custody-note"]').text()).toBe(evil)
    expect(w.get('[data-testid="custody-step"]').text()).toBe(evil)
    expect(w.get('[data-testid="citizen-progress"]').text()).toBe(evil)
    expect(w.get('[data-testid="delivery-recipient"]').text()).toBe(evil)
    expect(w.get('[data-testid="detail-agent"]').text()).toBe(evil)
    // The only images are the thumbnails we made, from blob: URLs.
    for (const img of w.findAll('img')) {
      expect(img.attributes('src')).toMatch(/^blob:/)
      expect(img.attributes('onerror')).toBeUndefined()
    }
    expect(document.querySelector('[onerror]')).toBeNull()
    expect(document.querySelector('img[src="x"]')).toBeNull()
    w.unmount()
  })

  it('opens an image large in a viewer and frees its URL when closed', async () => {
    const w = mount(ItemDetail, { props: { detail: delegatedDetail() }, attachTo: document.body })
    await flushPromises()
    await w.get('[data-testid="attachment-open"]').trigger('click')
    await flushPromises()
    const viewer = w.get('[data-testid="viewer"]')
    expect(viewer.classes()).toContain('modal-backdrop')
    expect(w.get('[data-testid="viewer-name"]').text()).toBe('身份证正面.jpg')
    const src = w.get('[data-testid="viewer-img"]').attributes('src')
    expect(src).toMatch(/^blob:/)
    expect(document.activeElement).toBe(w.get('[data-testid="viewer-close"]').element)
    await viewer.trigger('keydown', { key: 'Escape' })
    expect(w.find('[data-testid="viewer"]').exists()).toBe(false)
    expect(revoked).toContain(src)
    w.unmount()
  })

  it('shows the viewer error when the bytes cannot be had', async () => {
    handlers.attachment = () => {
      throw { code: 'offline', message: '离线，本机没有该文件' }
    }
    const w = mount(ItemDetail, { props: { detail: delegatedDetail() }, attachTo: document.body })
    await flushPromises()
    expect(w.get('[data-testid="attachment-open"]').text()).toBe('无法加载')
    await w.get('[data-testid="attachment-open"]').trigger('click')
    await flushPromises()
    expect(w.get('[data-testid="viewer-error"]').text()).toBe('离线，本机没有该文件')
    await w.get('[data-testid="viewer-close"]').trigger('click')
    expect(w.find('[data-testid="viewer"]').exists()).toBe(false)
    w.unmount()
  })

  it('hands the case to the window at the last place used, and remembers a new one', async () => {
    localStorage.setItem(placeKey(21), '县政务服务中心')
    handlers.act = () => delegatedDetail({ status: 'handed_over', allowed_actions: [] })
    const w = mount(ItemDetail, { props: { detail: delegatedDetail(), userId: 21 }, attachTo: document.body })
    await flushPromises()
    await w.get('[data-testid="action-hand_over"]').trigger('click')
    expect(w.get('[data-testid="action-hand_over"]').text()).toBe('递交窗口')
    expect(w.get('[data-testid="hand-over-summary"]').text()).toBe('材料已齐 2/3，尚缺：准迁证')
    const place = w.get('[data-testid="place-input"]')
    expect((place.element as HTMLInputElement).value).toBe('县政务服务中心')
    await place.setValue('县政务服务中心二楼')
    await w.get('form.modal').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', { req: { id: 'd1', op: { type: 'hand_over', place: '县政务服务中心二楼' } } })
    expect(localStorage.getItem(placeKey(21))).toBe('县政务服务中心二楼')
    w.unmount()
  })

  it('collects the result at a place', async () => {
    handlers.act = () => delegatedDetail({ status: 'collected', allowed_actions: [] })
    const w = mount(ItemDetail, {
      props: { detail: delegatedDetail({ allowed_actions: ['collect_result'] }), userId: 21 },
      attachTo: document.body,
    })
    await flushPromises()
    await w.get('[data-testid="action-collect_result"]').trigger('click')
    await w.get('[data-testid="place-input"]').setValue('县政务服务中心')
    await w.get('form.modal').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', { req: { id: 'd1', op: { type: 'collect_result', place: '县政务服务中心' } } })
    w.unmount()
  })

  it('delivers to the citizen with a captured proof photo', async () => {
    localStorage.setItem(placeKey(21), '东关村')
    const proof = attachment({ hash: 'p'.repeat(64), file_name: '签收.jpg', material: '送达凭证' })
    let calls_ = 0
    capture = (_b, opts) => {
      calls_++
      if (calls_ === 1) throw { code: 'image_unreadable', message: '图片无法识别，请重新拍摄' }
      expect(opts.headers['x-purpose']).toBe('proof')
      expect(decodeURIComponent(opts.headers['x-material'])).toBe('送达凭证')
      return proof
    }
    handlers.act = () =>
      delegatedDetail({ status: 'delivered', allowed_actions: [], delegation: delegation({ delivery: { recipient: '张三', proof } }) })
    const w = mount(ItemDetail, {
      props: { detail: delegatedDetail({ allowed_actions: ['deliver_to_citizen'] }), userId: 21 },
      attachTo: document.body,
    })
    await flushPromises()
    await w.get('[data-testid="action-deliver_to_citizen"]').trigger('click')
    expect(w.get('[data-testid="action-deliver_to_citizen"]').text()).toBe('送达群众')
    expect((w.get('[data-testid="recipient-input"]').element as HTMLInputElement).value).toBe('张三')
    expect((w.get('[data-testid="place-input"]').element as HTMLInputElement).value).toBe('东关村')
    // Without a proof it cannot be sent.
    await w.get('form.modal').trigger('submit')
    expect(w.get('[data-testid="dialog-error"]').text()).toBe('请拍摄或上传送达凭证（签收照片或签字）')
    expect(w.get('[data-testid="proof-input"]').attributes('accept')).toBe('image/jpeg,image/png')
    await pick(w, 'proof-input', [file('模糊.jpg')])
    await flushPromises()
    expect(w.get('[data-testid="proof-error"]').text()).toBe('图片无法识别，请重新拍摄')
    await pick(w, 'proof-input', [file('签收.jpg')])
    await flushPromises()
    expect(w.find('[data-testid="proof-error"]').exists()).toBe(false)
    expect(w.get('.modal [data-testid="attachment-name"]').text()).toBe('签收.jpg')
    await w.get('[data-testid="recipient-input"]').setValue('张三（本人）')
    await w.get('form.modal').trigger('submit')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', {
      req: { id: 'd1', op: { type: 'deliver_to_citizen', recipient: '张三（本人）', place: '东关村', proof } },
    })
    expect(w.find('form.modal').exists()).toBe(false)
    const after = w.emitted('updated')?.[0]?.[0] as Detail
    await w.setProps({ detail: after })
    await flushPromises()
    expect(w.get('[data-testid="delivery-recipient"]').text()).toBe('张三')
    expect(w.get('[data-testid="delivery"] img').attributes('src')).toMatch(/^blob:/)
    w.unmount()
  })

  it('shows resubmit for a supplement and sends it directly', async () => {
    handlers.act = () => delegatedDetail({ allowed_actions: [] })
    const w = mount(ItemDetail, { props: { detail: delegatedDetail({ allowed_actions: ['add_attachment', 'resubmit'] }) } })
    await flushPromises()
    const btn = w.get('[data-testid="action-resubmit"]')
    expect(btn.text()).toBe('补正后重新提交')
    await btn.trigger('click')
    await flushPromises()
    expect(invoke).toHaveBeenCalledWith('act', { req: { id: 'd1', op: { type: 'resubmit' } } })
  })
})
