// Delegated cases (为民服务全程代办): the agent's registration form, ID number check,
// materials checklist summary, attachment display helpers and the remembered village.
import type { Attachment, MaterialCheck, NewCase } from '../api/contract'

// ---- registration form (代办件登记) ----

export interface CaseForm {
  matterId: number | null
  name: string
  idNumber: string
  phone: string
  place: string
  content: string
}

export type CaseField = 'matterId' | 'name' | 'idNumber' | 'phone' | 'place' | 'content'

export function emptyCaseForm(place = ''): CaseForm {
  return { matterId: null, name: '', idNumber: '', phone: '', place, content: '' }
}

/** ID number as typed: spaces removed, a trailing lowercase x made upper case. */
export function normalizeIdNumber(s: string): string {
  return s.replace(/\s+/g, '').toUpperCase()
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const ID_CHECK = '10X98765432'

const CREDIT_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

/**
 * Check an ID number as the server does (shimin_domain::identity): a resident ID number
 * (居民身份证号, GB 11643) with a real birth date and its check character, or a company's unified
 * social credit code (统一社会信用代码, GB 32100) with its check character. Returns null when it is
 * right, else the Chinese problem. The server refuses what this refuses, so it is an error here.
 */
export function idNumberProblem(raw: string): string | null {
  const s = normalizeIdNumber(raw)
  if (!s) return null
  if (s.length !== 18) return `证件号码应为18位，当前为${s.length}位`
  if (/^\d{17}[\dX]$/.test(s)) {
    const y = Number(s.slice(6, 10))
    const m = Number(s.slice(10, 12))
    const d = Number(s.slice(12, 14))
    const date = new Date(Date.UTC(y, m - 1, d))
    if (y < 1900 || date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) {
      return '身份证号中的出生日期不存在'
    }
    let sum = 0
    for (let i = 0; i < 17; i++) sum += Number(s[i]) * ID_WEIGHTS[i]
    return ID_CHECK[sum % 11] === s[17] ? null : '证件号码校验位不符，请核对是否录错'
  }
  if ([...s].every((c) => CREDIT_ALPHABET.includes(c))) {
    let sum = 0
    for (let i = 0; i < 17; i++) sum += CREDIT_ALPHABET.indexOf(s[i]) * CREDIT_WEIGHTS[i]
    return CREDIT_ALPHABET[(31 - (sum % 31)) % 31] === s[17] ? null : '证件号码校验位不符，请核对是否录错'
  }
  return '身份证号前17位应为数字、最后一位为数字或X（统一社会信用代码为数字和大写字母）'
}

/** Phone as typed, without spaces and hyphens (e.g. "0311-8888 6666"). */
export function normalizePhone(s: string): string {
  return s.replace(/[\s-]+/g, '')
}

export type CaseFormResult =
  | { ok: true; value: NewCase }
  | { ok: false; errors: Partial<Record<CaseField, string>> }

/** Validate the registration form by the server's rules, every problem at once. */
export function buildNewCase(f: CaseForm): CaseFormResult {
  const errors: Partial<Record<CaseField, string>> = {}
  const name = f.name.trim()
  const idNumber = normalizeIdNumber(f.idNumber)
  const phone = normalizePhone(f.phone)
  const place = f.place.trim()
  if (f.matterId === null || !Number.isInteger(f.matterId) || f.matterId <= 0) errors.matterId = '请选择办理事项'
  if (!name) errors.name = '请填写群众姓名'
  if (!idNumber) errors.idNumber = '请填写身份证号'
  else {
    const problem = idNumberProblem(idNumber)
    if (problem) errors.idNumber = problem
  }
  if (!phone) errors.phone = '请填写联系电话'
  else if (!/^\d+$/.test(phone)) errors.phone = '联系电话只能填写数字'
  else if (phone.length < 7 || phone.length > 12) errors.phone = '联系电话位数不对（手机号11位，座机含区号不超过12位）'
  if (!place) errors.place = '请填写收件村（社区）'
  if (Object.keys(errors).length > 0) return { ok: false, errors }
  return {
    ok: true,
    value: {
      matter_id: f.matterId as number,
      applicant: { name, id_number: idNumber, phone },
      content: f.content.trim(),
      place,
    },
  }
}

// ---- materials checklist ----

export interface ChecklistSummary {
  done: number
  total: number
  requested: number
  complete: boolean
  text: string // "已齐 3/5"
}

/** How many of the matter's materials have at least one file, e.g. "已齐 3/5". */
export function checklistSummary(list: MaterialCheck[]): ChecklistSummary {
  const total = list.length
  const done = list.filter((m) => m.attachments.length > 0).length
  const requested = list.filter((m) => m.requested).length
  return { done, total, requested, complete: done === total, text: `已齐 ${done}/${total}` }
}

/** The materials that still have no file, in checklist order. */
export function missingFromChecklist(list: MaterialCheck[]): string[] {
  return list.filter((m) => m.attachments.length === 0).map((m) => m.material)
}

// ---- attachments ----

export type AttachmentKind = 'image' | 'pdf' | 'other'

export function attachmentKind(a: Pick<Attachment, 'mime'>): AttachmentKind {
  if (a.mime === 'image/jpeg' || a.mime === 'image/png') return 'image'
  if (a.mime === 'application/pdf') return 'pdf'
  return 'other'
}

/** "512 B" / "35 KB" / "1.2 MB". */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—'
  if (bytes < 1024) return `${Math.round(bytes)} B`
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
}

/** What the file input offers: what the shell accepts (checked again there by content). */
export const CAPTURE_ACCEPT = 'image/jpeg,image/png,application/pdf'
/** Delivery proof: a photo of the signed receipt or of the handing-over. */
export const PROOF_ACCEPT = 'image/jpeg,image/png'
/** `x-material` sent with a delivery proof (stored as a proof, not added to the checklist). */
export const PROOF_MATERIAL = '送达凭证'

// ---- the agent's village, remembered for next time ----

export interface PlaceStore {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
}

export function placeKey(userId: number | null | undefined): string {
  return `shimin-desk.agent-place.${userId ?? 'anon'}`
}

function defaultStore(): PlaceStore | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    return null
  }
}

/** The place this user last entered ('' when none or storage is unavailable). */
export function loadLastPlace(userId: number | null | undefined, store: PlaceStore | null = defaultStore()): string {
  try {
    return store?.getItem(placeKey(userId))?.trim() ?? ''
  } catch {
    return ''
  }
}

export function saveLastPlace(
  userId: number | null | undefined,
  place: string,
  store: PlaceStore | null = defaultStore(),
): void {
  const p = place.trim()
  if (!p) return
  try {
    store?.setItem(placeKey(userId), p)
  } catch {
    // Storage full or disabled: the default is only a convenience.
  }
}
