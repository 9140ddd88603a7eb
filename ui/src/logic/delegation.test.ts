import { describe, expect, it } from 'vitest'
import {
  attachmentKind,
  buildNewCase,
  checklistSummary,
  emptyCaseForm,
  formatSize,
  idNumberProblem,
  loadLastPlace,
  missingFromChecklist,
  normalizeIdNumber,
  placeKey,
  saveLastPlace,
  type CaseForm,
  type PlaceStore,
} from './delegation'
import { attachment } from '../test/fixtures'

const form = (over: Partial<CaseForm> = {}): CaseForm => ({
  ...emptyCaseForm(),
  matterId: 7,
  name: '张三',
  idNumber: '11010519491231002X',
  phone: '13800000000',
  place: '东关村',
  content: '',
  ...over,
})

describe('ID number check, by the server rules', () => {
  it('accepts 18 characters with a valid check digit, also a lowercase x', () => {
    expect(idNumberProblem('11010519491231002X')).toBeNull()
    expect(idNumberProblem('11010519491231002x')).toBeNull()
    expect(idNumberProblem(' 130400 199001011230 ')).toBeNull()
    expect(normalizeIdNumber(' 11010519491231002x')).toBe('11010519491231002X')
  })
  it('accepts a unified social credit code with its check character', () => {
    expect(idNumberProblem('91350100M000100Y43')).toBeNull()
    expect(idNumberProblem('91350100M000100Y40')).toBe('证件号码校验位不符，请核对是否录错')
  })
  it('names the length, stray characters, an impossible birth date and a wrong check digit', () => {
    expect(idNumberProblem('13040019900101')).toBe('证件号码应为18位，当前为14位')
    expect(idNumberProblem('1304001990010112I0')).toContain('身份证号前17位应为数字')
    expect(idNumberProblem('13040019901301123X')).toBe('身份证号中的出生日期不存在')
    expect(idNumberProblem('130400199001011234')).toBe('证件号码校验位不符，请核对是否录错')
    expect(idNumberProblem('')).toBeNull()
  })
})

describe('buildNewCase', () => {
  it('builds the NewCase with trimmed, normalised fields', () => {
    const r = buildNewCase(
      form({ name: ' 张三 ', idNumber: '11010519491231002x', phone: '138 0000-0000', place: ' 东关村 ', content: ' 行动不便 ' }),
    )
    expect(r).toEqual({
      ok: true,
      value: {
        matter_id: 7,
        applicant: { name: '张三', id_number: '11010519491231002X', phone: '13800000000' },
        content: '行动不便',
        place: '东关村',
      },
    })
  })
  it('names every missing required field in Chinese', () => {
    const r = buildNewCase(emptyCaseForm())
    expect(r.ok).toBe(false)
    expect(!r.ok && r.errors).toEqual({
      matterId: '请选择办理事项',
      name: '请填写群众姓名',
      idNumber: '请填写身份证号',
      phone: '请填写联系电话',
      place: '请填写收件村（社区）',
    })
  })
  it('accepts only digits as a phone number, of a plausible length', () => {
    expect(buildNewCase(form({ phone: '1380000abcd' }))).toMatchObject({ ok: false, errors: { phone: '联系电话只能填写数字' } })
    expect(buildNewCase(form({ phone: '+8613800000000' })).ok).toBe(false)
    expect(buildNewCase(form({ phone: '12345' }))).toMatchObject({ ok: false, errors: { phone: expect.stringContaining('位数不对') } })
    expect(buildNewCase(form({ phone: '0311-88886666' })).ok).toBe(true)
  })
  it('refuses an ID number the server would refuse, beside other problems', () => {
    const bad = buildNewCase(form({ idNumber: '13040019900101', name: '' }))
    expect(bad).toMatchObject({
      ok: false,
      errors: { name: '请填写群众姓名', idNumber: '证件号码应为18位，当前为14位' },
    })
  })
})

describe('checklist', () => {
  const list = [
    { material: '居民身份证', attachments: [attachment()], requested: false },
    { material: '户口簿', attachments: [attachment(), attachment({ hash: 'c' })], requested: true },
    { material: '准迁证', attachments: [], requested: true },
    { material: '照片', attachments: [], requested: false },
    { material: '申请表', attachments: [attachment()], requested: false },
  ]
  it('summarises how many materials have files', () => {
    expect(checklistSummary(list)).toEqual({ done: 3, total: 5, requested: 2, complete: false, text: '已齐 3/5' })
    expect(checklistSummary(list.slice(0, 2))).toMatchObject({ complete: true, text: '已齐 2/2' })
    expect(checklistSummary([])).toMatchObject({ done: 0, total: 0, complete: true, text: '已齐 0/0' })
  })
  it('lists the materials still missing in order', () => {
    expect(missingFromChecklist(list)).toEqual(['准迁证', '照片'])
  })
})

describe('attachments', () => {
  it('formats sizes', () => {
    expect(formatSize(512)).toBe('512 B')
    expect(formatSize(245_760)).toBe('240 KB')
    expect(formatSize(1_572_864)).toBe('1.5 MB')
    expect(formatSize(-1)).toBe('—')
  })
  it('tells images from PDFs', () => {
    expect(attachmentKind({ mime: 'image/jpeg' })).toBe('image')
    expect(attachmentKind({ mime: 'image/png' })).toBe('image')
    expect(attachmentKind({ mime: 'application/pdf' })).toBe('pdf')
    expect(attachmentKind({ mime: 'text/html' })).toBe('other')
  })
})

describe('remembered place', () => {
  function memory(): PlaceStore & { data: Map<string, string> } {
    const data = new Map<string, string>()
    return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) }
  }
  it('remembers the last place per user, ignoring blanks', () => {
    const s = memory()
    expect(loadLastPlace(21, s)).toBe('')
    saveLastPlace(21, ' 东关村 ', s)
    saveLastPlace(21, '   ', s)
    expect(loadLastPlace(21, s)).toBe('东关村')
    expect(loadLastPlace(22, s)).toBe('')
    expect(s.data.get(placeKey(21))).toBe('东关村')
  })
  it('survives storage that throws or is missing', () => {
    const broken: PlaceStore = {
      getItem: () => {
        throw new Error('denied')
      },
      setItem: () => {
        throw new Error('full')
      },
    }
    expect(loadLastPlace(1, broken)).toBe('')
    expect(() => saveLastPlace(1, 'x', broken)).not.toThrow()
    expect(loadLastPlace(1, null)).toBe('')
  })
})
