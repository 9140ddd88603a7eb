import { describe, expect, it } from 'vitest'
import { MAX_CASE_TEXT, answerProblems, reviewProblems } from './cases'

describe('supervision case forms', () => {
  it.each([
    ['原因', '整改', []],
    ['', '整改', ['请填写原因']],
    [' ', ' ', ['请填写原因', '请填写整改措施']],
    ['原因', '', ['请填写整改措施']],
    ['因'.repeat(MAX_CASE_TEXT + 1), '改', [`原因不能超过${MAX_CASE_TEXT}个字`]],
  ])('answer %#', (cause, correction, want) => {
    expect(answerProblems(cause, correction)).toEqual(want)
  })

  it.each([
    ['close', '', []],
    ['close', '整改到位', []],
    ['return', '', ['退回须写明原因']],
    ['return', '请补充回访情况', []],
    ['appeal', ' ', ['申诉须写明理由']],
    ['appeal', '评议人与办件无关', []],
    ['uphold', '', []],
    ['reject', '', ['驳回须写明理由']],
    ['close', '意'.repeat(MAX_CASE_TEXT + 1), [`意见不能超过${MAX_CASE_TEXT}个字`]],
  ] as const)('review %#', (action, note, want) => {
    expect(reviewProblems(action, note)).toEqual(want)
  })

  it('names the follow-up\'s first field as the form does', () => {
    expect(answerProblems('', '整改', '回访情况')).toEqual(['请填写回访情况'])
  })
})
