// Rejection notices ("服务器拒绝了您的操作，已撤销：…").
import type { Rejection } from '../api/contract'

export function rejectionText(r: Pick<Rejection, 'item_number' | 'message'>): string {
  return `服务器拒绝了您的操作，已撤销：${r.item_number} ${r.message}`
}

/** Add a rejection unless already listed (same mutation id); newest first. */
export function addRejection(list: Rejection[], r: Rejection): Rejection[] {
  if (list.some((x) => x.mutation_id === r.mutation_id)) return list
  return [r, ...list]
}
