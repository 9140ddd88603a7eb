// Shared test data.
import type {
  Attachment,
  CellView,
  Delegation,
  FiguresView,
  ItemDetail,
  QueueRow,
  RankedView,
  Session,
  Settings,
  StatsView,
  Status,
} from '../api/contract'

export function row(over: Partial<QueueRow> = {}): QueueRow {
  return {
    id: 'i1',
    number: 'YY20261130-0003',
    kind: 'reservation',
    kind_name: '预约',
    status: 'submitted',
    status_name: '待处理',
    closed: false,
    title: '户籍迁入预约',
    applicant_name: '张三',
    matter_name: '户籍迁入',
    unit_name: '县公安局',
    handler_name: null,
    received_at: '2026-11-30T01:00:00Z',
    countdown: {
      clock_name: '预约响应',
      due_at: '2026-11-30T02:00:00Z',
      remaining_minutes: 42,
      level: 'normal',
      provisional: false,
      label: '剩余 0小时42分',
    },
    overdue: false,
    supervision: false,
    pending: false,
    slot: { start: '2026-12-01T09:00:00', end: '2026-12-01T10:00:00' },
    ...over,
  }
}

export function detail(over: Partial<ItemDetail> = {}): ItemDetail {
  return {
    ...row(),
    content: '我想预约办理户籍迁入。',
    // As the shell sends it: numbers masked, revealable by a clerk.
    applicant: { name: '张三', id_number: '1304**********1234', phone: '138****0000', revealable: true },
    requested_slot: { start: '2026-12-01T09:00:00', end: '2026-12-01T10:00:00' },
    granted_slot: null,
    reply: null,
    missing_materials: [],
    rating: null,
    receipt_no: null,
    matter: {
      id: 7,
      code: 'GA-001',
      name: '户籍迁入',
      promised_days: 5,
      materials: ['居民身份证', '户口簿', '准迁证'],
      fee_fen: 0,
    },
    history: [
      {
        at: '2026-11-30T01:00:00Z',
        actor_name: '张三',
        action: 'submit',
        action_name: '提交',
        status_name: '待处理',
        note: null,
        place: null,
      },
    ],
    pending_ops: 0,
    allowed_actions: ['claim', 'accept_reservation', 'reject_reservation'],
    advance_to: [],
    delegation: null,
    ...over,
  }
}

export function attachment(over: Partial<Attachment> = {}): Attachment {
  return {
    hash: 'a'.repeat(64),
    size: 245_760,
    mime: 'image/jpeg',
    file_name: '身份证正面.jpg',
    material: '居民身份证',
    ...over,
  }
}

export function delegation(over: Partial<Delegation> = {}): Delegation {
  return {
    agent_name: '王代办',
    checklist: [
      { material: '居民身份证', attachments: [attachment()], requested: false },
      {
        material: '户口簿',
        attachments: [attachment({ hash: 'b'.repeat(64), mime: 'application/pdf', file_name: '户口簿.pdf', size: 1_572_864, material: '户口簿' })],
        requested: false,
      },
      { material: '准迁证', attachments: [], requested: true },
    ],
    other_attachments: [],
    custody: [
      {
        at: '2026-11-30T01:00:00Z',
        step: 'CitizenToAgent',
        step_name: '群众 → 代办员（登记收件）',
        actor_name: '王代办',
        place: '东关村',
        note: null,
      },
      {
        at: '2026-11-30T06:30:00Z',
        step: 'AgentToWindow',
        step_name: '代办员 → 受理窗口（递交）',
        actor_name: '王代办',
        place: '县政务服务中心',
        note: '原件已核对',
      },
    ],
    delivery: null,
    citizen_progress: '材料已递交受理窗口，等待预审',
    ...over,
  }
}

/** A delegated case as the agent sees it while gathering materials. */
export function delegatedDetail(over: Partial<ItemDetail> = {}): ItemDetail {
  return detail({
    id: 'd1',
    number: 'DB20261130-0001',
    kind: 'delegated_case',
    kind_name: '代办件',
    status: 'submitted',
    status_name: '收件',
    title: '户籍迁入（代办）',
    content: '群众行动不便，委托代办。',
    requested_slot: null,
    slot: null,
    allowed_actions: ['add_attachment', 'hand_over'],
    delegation: delegation(),
    ...over,
  })
}

export function agentSession(): Session {
  return session({
    user: {
      id: 21,
      username: 'agent1',
      display_name: '王代办',
      role: 'agent',
      role_name: '代办员',
      unit_id: null,
      unit_name: '东关镇便民服务站',
      workspace: 'agent',
      has_counter: false,
    },
  })
}

export function session(over: Partial<Session> = {}): Session {
  return {
    user: {
      id: 1,
      username: 'clerk1',
      display_name: '李明',
      role: 'clerk',
      role_name: '窗口人员',
      unit_id: 3,
      unit_name: '县公安局',
      workspace: 'counter',
      has_counter: true,
    },
    must_change_password: false,
    remembered: false,
    ...over,
  }
}

export function settings(over: Partial<Settings> = {}): Settings {
  return {
    endpoints: [
      { name: '内网', base_url: 'http://127.0.0.1:1' },
      { name: '外网', base_url: 'http://127.0.0.1:2' },
    ],
    remembered_username: null,
    autostart: false,
    app_version: '0.1.0',
    endpoints_managed: false,
    machine_error: null,
    ...over,
  }
}

export function status(over: Partial<Status> = {}): Status {
  return {
    online: true,
    endpoint: '内网',
    endpoint_url: 'http://127.0.0.1:1',
    security: 'plain_intranet',
    security_problem: null,
    pending: 0,
    uploads_pending: 0,
    last_sync: '2026-11-30T01:05:00Z',
    live: true,
    last_error: null,
    calendar_warning_year: null,
    away: false,
    attention: 0,
    revision: 1,
    ...over,
  }
}

export function counterIdle(): import('../api/contract').CounterState {
  return { serving: null, serving_started: false, waiting: [], suspended: [], called_today: 0, window_no: null }
}

// ---- assessment board (考核统计) ----
export const STATS_DIMENSIONS = [
  { code: 'publishing', name: '信息发布管理' },
  { code: 'consultation', name: '咨询业务办理' },
  { code: 'reservation', name: '预约业务受理' },
  { code: 'application', name: '申办业务受理' },
  { code: 'time_limit', name: '办件时限管理' },
  { code: 'evaluation', name: '评议结果管理' },
  { code: 'complaint_handling', name: '投诉业务办理' },
  { code: 'complaint_results', name: '投诉结果管理' },
]

const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)}%`)

/** A dimension's cell: `on_time` of `count` met in time, plus late / overdue / running. */
export function statsCell(dimension: string, over: Partial<CellView> = {}): CellView {
  const base = { count: 0, on_time: 0, late: 0, overdue: 0, running: 0, ...over }
  const judged = base.on_time + base.late + base.overdue
  const rate = over.rate !== undefined ? over.rate : judged > 0 ? base.on_time / judged : null
  return {
    dimension,
    ...base,
    rate,
    rate_label: over.rate_label ?? pct(rate),
    mean_label: over.mean_label ?? (base.on_time + base.late > 0 ? '1小时5分' : '—'),
  }
}

/** Figures with `score` and per-dimension overrides (by code). */
export function statsFigures(score: number | null, cells: Record<string, Partial<CellView>> = {}): FiguresView {
  return {
    score,
    score_label: score === null ? '—' : score.toFixed(1),
    cells: STATS_DIMENSIONS.map((d) => statsCell(d.code, cells[d.code])),
    ratings: { levels: [3, 1, 0, 0, 1], count: 5, bad: 1, excluded: 0, good_rate_label: '80.0%' },
  }
}

export function ranked(
  id: number,
  name: string,
  rank: number,
  figures: FiguresView,
  unit_name: string | null = null,
): RankedView {
  return { id, name, unit_name, rank, figures }
}

/** A county board (全县考核, scope `all`) with three units and three persons. */
export function statsView(over: Partial<StatsView> = {}): StatsView {
  return {
    period: 'month',
    title: '本月（2026-12-01 至 2026-12-06）',
    scope: 'all',
    scope_zh: '全县考核',
    rule_version: 3,
    generated_at: '09:30',
    dimensions: STATS_DIMENSIONS,
    total: statsFigures(81.4, {
      consultation: { count: 12, on_time: 9, late: 2, overdue: 1, running: 0 },
      reservation: { count: 20, on_time: 18, late: 1, overdue: 0, running: 1 },
      evaluation: { count: 5, on_time: 4, late: 1, rate: 0.8 },
    }),
    units: [
      ranked(3, '县公安局', 1, statsFigures(92.5, { consultation: { count: 5, on_time: 5 } })),
      ranked(5, '县民政局', 2, statsFigures(80.0, { consultation: { count: 4, on_time: 3, late: 1 } })),
      ranked(8, '县市场监督管理局', 3, statsFigures(null)),
    ],
    persons: [
      ranked(1, '李明', 1, statsFigures(95.0, { consultation: { count: 3, on_time: 3 } }), '县公安局'),
      ranked(2, '王芳', 2, statsFigures(70.0, { consultation: { count: 7, on_time: 4, overdue: 3 } })),
      ranked(4, '赵强', 3, statsFigures(null)),
    ],
    rating_levels: ['非常满意', '满意', '基本满意', '不满意', '非常不满意'],
    ...over,
  }
}
