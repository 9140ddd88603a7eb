// Checks of the supervision case forms (督办), every problem at once, before the shell is asked
// (the server checks again).

/** Longest cause, correction or note (the server's limit). */
export const MAX_CASE_TEXT = 2000

function tooLong(s: string): boolean {
  return [...s].length > MAX_CASE_TEXT
}

/** What is wrong with an answer: cause and correction are both required. */
export function answerProblems(cause: string, correction: string): string[] {
  const out: string[] = []
  if (!cause.trim()) out.push('请填写原因')
  else if (tooLong(cause)) out.push(`原因不能超过${MAX_CASE_TEXT}个字`)
  if (!correction.trim()) out.push('请填写整改措施')
  else if (tooLong(correction)) out.push(`整改措施不能超过${MAX_CASE_TEXT}个字`)
  return out
}

/** What is wrong with a review: a return says what is missing; a closing note is optional. */
export function reviewProblems(mode: 'close' | 'return', note: string): string[] {
  if (mode === 'return' && !note.trim()) return ['退回须写明原因']
  if (tooLong(note)) return [`意见不能超过${MAX_CASE_TEXT}个字`]
  return []
}
