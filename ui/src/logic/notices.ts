// Text of the printed receipts and notices (受理凭证 / 一次性告知书 / 不予受理通知书).
import type { ItemDetail } from '../api/contract'
import { formatDateCn } from './format'

export interface PrintDoc {
  kind: 'receipt' | 'supplement' | 'refusal'
  title: string
  /** Paragraphs / lines, rendered as text. */
  lines: string[]
  /** Issuing unit and date, printed at the bottom right. */
  footer: string[]
}

type DocSource = Pick<ItemDetail, 'number' | 'applicant_name' | 'matter_name' | 'unit_name' | 'receipt_no' | 'title'> & {
  matter?: ItemDetail['matter']
}

function matterOf(d: DocSource): string {
  return d.matter?.name || d.matter_name || d.title || '—'
}

function footer(d: DocSource, nowIso: string): string[] {
  return [d.unit_name || '', formatDateCn(nowIso)].filter((s) => s !== '')
}

export function receiptDoc(d: DocSource, nowIso: string): PrintDoc {
  return {
    kind: 'receipt',
    title: '受理凭证',
    lines: [
      `受理编号：${d.receipt_no || '—'}`,
      `办件编号：${d.number}`,
      `申请事项：${matterOf(d)}`,
      `申请人：${d.applicant_name}`,
      `受理日期：${formatDateCn(nowIso)}`,
      `您申请的“${matterOf(d)}”事项材料齐全、符合法定形式，本机关决定予以受理。`,
      ...(d.matter?.promised_days ? [`承诺办结时限：${d.matter.promised_days}个工作日。`] : []),
    ],
    footer: footer(d, nowIso),
  }
}

/** Numbered list of the materials to supplement: "1. 身份证复印件". */
export function numberedMaterials(missing: string[]): string[] {
  return missing.map((m, i) => `${i + 1}. ${m}`)
}

export function supplementDoc(d: DocSource, missing: string[], note: string, nowIso: string): PrintDoc {
  const lines = [
    `${d.applicant_name}：`,
    `您申请的“${matterOf(d)}”事项（办件编号：${d.number}）申请材料不齐全或不符合法定形式，请补正以下全部材料：`,
    ...numberedMaterials(missing),
  ]
  if (note.trim()) lines.push(`说明：${note.trim()}`)
  lines.push('以上为需补正的全部内容，特此一次性告知。补正期间办理时限暂停计算。')
  return { kind: 'supplement', title: '一次性告知书', lines, footer: footer(d, nowIso) }
}

export function refusalDoc(d: DocSource, reason: string, nowIso: string): PrintDoc {
  return {
    kind: 'refusal',
    title: '不予受理通知书',
    lines: [
      `${d.applicant_name}：`,
      `您申请的“${matterOf(d)}”事项（办件编号：${d.number}），经审查，本机关决定不予受理。`,
      `理由：${reason.trim()}`,
      '如对本决定不服，可依法申请行政复议或者提起行政诉讼。',
    ],
    footer: footer(d, nowIso),
  }
}

/** Plain-text rendering of a document (used for tests and as a copyable fallback). */
export function docText(doc: PrintDoc): string {
  return [doc.title, '', ...doc.lines, '', ...doc.footer].join('\n')
}
