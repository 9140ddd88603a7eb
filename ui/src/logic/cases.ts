import type { CaseStepAction } from '../api/contract'

// Checks of the supervision case forms (督办), every problem at once, before the shell is asked
// (the server checks again).

/** Longest cause, correction or note (the server's limit). */
export const MAX_CASE_TEXT = 2000

function tooLong(s: string): boolean {
  return [...s].length > MAX_CASE_TEXT
}

/** What is wrong with an answer: cause (for a follow-up: the call back) and correction are both
 * required. */
export function answerProblems(cause: string, correction: string, causeLabel = '原因'): string[] {
  const out: string[] = []
  if (!cause.trim()) out.push(`请填写${causeLabel}`)
  else if (tooLong(cause)) out.push(`${causeLabel}不能超过${MAX_CASE_TEXT}个字`)
  if (!correction.trim()) out.push('请填写整改措施')
  else if (tooLong(correction)) out.push(`整改措施不能超过${MAX_CASE_TEXT}个字`)
  return out
}

/** What the note of each move is called, and whether it is required. */
export const STEP_NOTES: Record<CaseStepAction, { label: string; required: boolean; missing: string }> = {
  close: { label: '办结意见（可不填）', required: false, missing: '' },
  return: { label: '退回原因（须填写）', required: true, missing: '退回须写明原因' },
  appeal: { label: '申诉理由（须填写）', required: true, missing: '申诉须写明理由' },
  uphold: { label: '复核意见（可不填）', required: false, missing: '' },
  reject: { label: '驳回理由（须填写）', required: true, missing: '驳回须写明理由' },
}

/** What is wrong with a move's note: required ones say why; none is too long. */
export function reviewProblems(action: CaseStepAction, note: string): string[] {
  const rule = STEP_NOTES[action]
  if (rule.required && !note.trim()) return [rule.missing]
  if (tooLong(note)) return [`意见不能超过${MAX_CASE_TEXT}个字`]
  return []
}
