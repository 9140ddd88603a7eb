// Building `Op` values from dialog form input, with validation (Chinese messages).
import type { Attachment, ItemDetail, Op } from '../api/contract'

export const ACTION_LABELS: Record<string, string> = {
  claim: '认领',
  accept_reservation: '受理预约',
  reject_reservation: '拒绝',
  mark_arrived: '已到场',
  mark_no_show: '未到场',
  reply_consultation: '答复',
  pass_pre_review: '预审通过',
  request_supplement: '一次性告知补正',
  resubmit: '补正后重新提交',
  refuse_application: '不予受理',
  advance: '推进环节',
  // The agent hands a delegated case (and its materials) to the handling window.
  hand_over: '递交窗口',
  add_note: '备注',
  reply_complaint: '答复',
  mark_read: '标记已阅',
  transfer: '转办',
  add_attachment: '添加材料',
  collect_result: '领取结果',
  deliver_to_citizen: '送达群众',
}

/** Actions that need a form before they can be sent. */
export const FORM_ACTIONS = new Set([
  'accept_reservation',
  'reject_reservation',
  'reply_consultation',
  'request_supplement',
  'refuse_application',
  'advance',
  'add_note',
  'reply_complaint',
  'transfer',
  'hand_over',
  'collect_result',
  'deliver_to_citizen',
])

/**
 * The action that carries an item's work forward, among those allowed: what the button row
 * highlights and where the keyboard lands when the item is opened from the keyboard (taking an
 * item is only the first step when nothing better is allowed).
 */
const PRIMARY_ORDER = [
  'accept_reservation',
  'reply_consultation',
  'pass_pre_review',
  'reply_complaint',
  'accept_application',
  'claim',
]
export function primaryAction(allowed: readonly string[]): string | null {
  return PRIMARY_ORDER.find((a) => allowed.includes(a)) ?? allowed[0] ?? null
}

export function actionLabel(type: string, kind?: string): string {
  if (type === 'add_note' && kind === 'complaint') return '调查记录'
  if (type === 'reply_complaint') return '答复投诉'
  return ACTION_LABELS[type] ?? type
}

export interface OpForm {
  slotDate: string
  slotStart: string
  slotEnd: string
  reason: string
  reply: string
  text: string
  selectedMaterials: string[]
  extraMaterials: string // free lines, one material per line
  note: string
  advanceTo: string
  toUnitId: number | null
  place: string // where a delegated case changes hands
  recipient: string // who received the result (送达签收人)
  proof: Attachment | null // the captured delivery proof
}

export function emptyForm(): OpForm {
  return {
    slotDate: '',
    slotStart: '',
    slotEnd: '',
    reason: '',
    reply: '',
    text: '',
    selectedMaterials: [],
    extraMaterials: '',
    note: '',
    advanceTo: '',
    toUnitId: null,
    place: '',
    recipient: '',
    proof: null,
  }
}

export type BuildResult = { ok: true; op: Op } | { ok: false; error: string }

const fail = (error: string): BuildResult => ({ ok: false, error })

/** All missing materials: the checked ones in order, then free lines; trimmed, de-duplicated. */
export function missingMaterials(selected: string[], extra: string): string[] {
  const out: string[] = []
  for (const s of [...selected, ...extra.split(/\r?\n/)]) {
    const t = s.trim()
    if (t && !out.includes(t)) out.push(t)
  }
  return out
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/
const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d$/

/** Build an Op of `type` from the form. `detail` is used to check advance targets. */
export function buildOp(type: string, f: OpForm, detail?: Pick<ItemDetail, 'advance_to'>): BuildResult {
  switch (type) {
    case 'claim':
    case 'mark_arrived':
    case 'mark_no_show':
    case 'pass_pre_review':
    case 'mark_read':
      return { ok: true, op: { type } as Op }
    case 'resubmit': {
      // A delegated case comes back to the window: where (the agent's last place), if known.
      const place = f.place.trim()
      return { ok: true, op: place ? { type, place } : { type } }
    }
    case 'accept_reservation': {
      if (!DATE_RE.test(f.slotDate)) return fail('请选择预约日期')
      if (!TIME_RE.test(f.slotStart) || !TIME_RE.test(f.slotEnd)) return fail('请填写开始和结束时间（时:分）')
      if (f.slotEnd <= f.slotStart) return fail('结束时间必须晚于开始时间')
      return {
        ok: true,
        op: {
          type,
          slot: { start: `${f.slotDate}T${f.slotStart}:00`, end: `${f.slotDate}T${f.slotEnd}:00` },
        },
      }
    }
    case 'reject_reservation':
    case 'refuse_application': {
      const reason = f.reason.trim()
      if (!reason) return fail(type === 'refuse_application' ? '请填写不予受理的理由' : '请填写拒绝理由')
      return { ok: true, op: { type, reason } }
    }
    case 'reply_consultation':
    case 'reply_complaint': {
      const reply = f.reply.trim()
      if (!reply) return fail('请填写答复内容')
      return { ok: true, op: { type, reply } }
    }
    case 'request_supplement': {
      const missing = missingMaterials(f.selectedMaterials, f.extraMaterials)
      if (missing.length === 0) return fail('请至少选择或填写一项需补正的材料')
      return { ok: true, op: { type, missing, note: f.note.trim() } }
    }
    case 'advance': {
      if (!f.advanceTo) return fail('请选择要推进到的环节')
      if (detail && !detail.advance_to.some(([s]) => s === f.advanceTo)) return fail('该环节不可选')
      return { ok: true, op: { type, to: f.advanceTo } }
    }
    case 'add_note': {
      const text = f.text.trim()
      if (!text) return fail('请填写内容')
      return { ok: true, op: { type, text } }
    }
    case 'transfer': {
      if (f.toUnitId === null || !Number.isInteger(f.toUnitId) || f.toUnitId <= 0) return fail('请选择转办单位')
      const reason = f.reason.trim()
      if (!reason) return fail('请填写转办理由')
      return { ok: true, op: { type, to_unit_id: f.toUnitId, reason } }
    }
    case 'hand_over':
    case 'collect_result': {
      // The place is optional in the protocol; the form fills in the agent's last one.
      const place = f.place.trim()
      return { ok: true, op: { type, place: place || null } }
    }
    case 'deliver_to_citizen': {
      const recipient = f.recipient.trim()
      const place = f.place.trim()
      if (!recipient) return fail('请填写签收人姓名')
      if (!place) return fail('请填写送达地点')
      if (!f.proof) return fail('请拍摄或上传送达凭证（签收照片或签字）')
      return { ok: true, op: { type, recipient, place, proof: f.proof } }
    }
    default:
      return fail(`不支持的操作：${type}`)
  }
}
