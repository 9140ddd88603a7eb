import { describe, expect, it } from 'vitest'
import { docText, numberedMaterials, receiptDoc, refusalDoc, supplementDoc } from './notices'
import { detail } from '../test/fixtures'

const now = '2026-12-01T02:00:00Z'

describe('printed notices', () => {
  it('receipt carries receipt no, item number, matter, applicant and date', () => {
    const doc = receiptDoc(detail({ receipt_no: 'SL2026-0042', unit_name: '县公安局' }), now)
    const text = docText(doc)
    expect(doc.title).toBe('受理凭证')
    expect(text).toContain('受理编号：SL2026-0042')
    expect(text).toContain('办件编号：YY20261130-0003')
    expect(text).toContain('申请事项：户籍迁入')
    expect(text).toContain('申请人：张三')
    expect(text).toContain('2026年12月1日')
    expect(text).toContain('县公安局')
  })
  it('supplement notice numbers every missing material', () => {
    const doc = supplementDoc(detail(), ['居民身份证', '户口簿', '结婚证'], '须提供原件', now)
    expect(doc.title).toBe('一次性告知书')
    expect(doc.lines).toContain('1. 居民身份证')
    expect(doc.lines).toContain('2. 户口簿')
    expect(doc.lines).toContain('3. 结婚证')
    expect(doc.lines).toContain('说明：须提供原件')
    expect(docText(doc)).toContain('一次性告知')
  })
  it('supplement notice omits an empty note', () => {
    const doc = supplementDoc(detail(), ['户口簿'], '  ', now)
    expect(doc.lines.some((l) => l.startsWith('说明'))).toBe(false)
  })
  it('refusal notice states the reason', () => {
    const doc = refusalDoc(detail(), ' 不属于本机关职权范围 ', now)
    expect(doc.title).toBe('不予受理通知书')
    expect(doc.lines).toContain('理由：不属于本机关职权范围')
  })
  it('numbers materials from 1', () => {
    expect(numberedMaterials([])).toEqual([])
    expect(numberedMaterials(['a', 'b'])).toEqual(['1. a', '2. b'])
  })
})
