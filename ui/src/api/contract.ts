// The contract between the desk shell (src-tauri, Rust) and this UI.
// Every command takes at most one argument named `req`; field names are snake_case on both
// sides. A failed command rejects with a `DeskError`. Dates are RFC 3339 strings (UTC) unless
// noted; reservation slots are local (Asia/Shanghai) times without offset.

export interface DeskError {
  /// Stable code: e.g. "bad_credentials" (wrong username or password), "account_locked"
  /// (see retry_after_secs), "account_disabled", "weak_password", "offline",
  /// "all_endpoints_down", "not_permitted", "already_claimed", "invalid_state", "invalid_field",
  /// "not_logged_in", "session_expired", "keyring", "invalid_endpoint", "other_user_pending",
  /// "protocol_unsupported", "cache_key_or_corrupt".
  code: string
  /// Chinese, ready to show to the clerk.
  message: string
  /// Lockout: seconds until the account may try again.
  retry_after_secs?: number | null
  /// Weak password: Chinese descriptions of every rule broken.
  problems?: string[]
}

export interface Endpoint {
  /// "内网" / "外网"
  name: string
  /// e.g. "http://172.31.200.60:201"
  base_url: string
}

export interface Settings {
  endpoints: Endpoint[]
  /// Username of the last "remember me" login, to prefill the form.
  remembered_username: string | null
  autostart: boolean
  app_version: string
  /// The endpoints come from the administrator's machine-wide settings: shown, not editable.
  endpoints_managed: boolean
  /// Why the machine-wide settings could not be used (then no address may use plain HTTP).
  machine_error: string | null
}

export interface User {
  id: number
  username: string
  display_name: string
  role: string // "clerk" | "dept_leader" | "agent" | "inspector" | "net_admin" | ... (display only)
  role_name: string // Chinese
  unit_id: number | null
  unit_name: string | null
  /// The main screen the desk builds for the role (decided by the domain's Role::workspace).
  workspace: Workspace
  /// The call panel (叫号, 现场取号) and 暂离 belong to this user's screen.
  has_counter: boolean
}

export type Workspace = 'counter' | 'agent' | 'office' | 'supervision' | 'none'

export interface Session {
  user: User
  must_change_password: boolean
  remembered: boolean
}

export interface Status {
  online: boolean
  endpoint: string | null // "内网" / "外网"
  endpoint_url: string | null
  /// How the endpoint in use carries the traffic: HTTPS, or plain HTTP on an intranet address
  /// the administrator marked.
  security: 'https' | 'plain_intranet' | null
  /// An address refused for transport security (certificate, plain HTTP), in Chinese.
  security_problem: string | null
  pending: number // local changes not yet confirmed by the server
  uploads_pending: number // captured attachments not yet uploaded (待上传附件)
  last_sync: string | null
  live: boolean // live push (SSE) connected
  last_error: string | null
  /// Next year's official holiday schedule is missing: deadlines into it are provisional.
  calendar_warning_year: number | null
  away: boolean // "I'm away" (暂离): reservations go to the B clerk
  /// Open reservations waiting for this user (drives tray/banner attention).
  attention: number
  /// Increases with every status the shell builds: keep the newest (see `newerStatus`).
  revision: number
}

export type ClockLevel = 'normal' | 'warning' | 'overdue' | 'paused'

export interface Countdown {
  clock_name: string // e.g. "预约响应" / "办结时限"
  due_at: string | null // null while paused
  /// Working minutes left; negative when overdue.
  remaining_minutes: number
  level: ClockLevel
  provisional: boolean
  /// The supervision card held now (R-SUP): yellow once the deadline is near, red once missed.
  card?: 'yellow' | 'red' | null
  /// The next card and the working minutes until it comes (what the clerk is judged by).
  next_card?: { card: 'yellow' | 'red'; minutes: number } | null
  /// Ready-made Chinese label, e.g. "剩余 42分（20分后黄牌）" / "已黄牌，9分后红牌" /
  /// "已超期 1天2小时，红牌" / "暂停（补正中，剩余…）".
  label: string
}

export interface Slot {
  start: string // "2026-12-01T09:00:00" local time
  end: string
}

/// `reservation_slots`: `{ req: { id } }` → the next working days with their free slots inside
/// office hours (the accept dialog picks one).
export interface SlotDay {
  date: string // "2026-12-03"
  label: string // "12月3日 周四"
  slots: Slot[]
}

export type QueueViewName =
  | 'mine'
  | 'unit'
  | 'due_soon'
  | 'overdue'
  | 'all'
  | 'reservation'
  | 'consultation'
  | 'application'
  | 'complaint'
  | 'evaluation'
  | 'delegated_case'

export interface QueueRequest {
  view: QueueViewName
  search?: string | null // applicant name, item number, title or matter name
  include_closed?: boolean
}

export interface QueueRow {
  id: string
  number: string // 办件编号
  kind: string // "reservation" | "consultation" | "application" | "complaint" | "evaluation" | "delegated_case"
  kind_name: string // Chinese
  status: string
  status_name: string // Chinese
  closed: boolean
  title: string // citizen text: render as text only
  applicant_name: string // citizen text: render as text only
  matter_name: string | null
  unit_name: string | null
  handler_name: string | null
  received_at: string
  countdown: Countdown | null
  overdue: boolean // an overdue record exists (超期, never cleared)
  supervision: boolean // 督办
  pending: boolean // has local changes not yet synced (待同步)
  slot: Slot | null // granted slot, else the requested one
}

export interface HistoryEntry {
  at: string
  actor_name: string
  action: string
  action_name: string // Chinese
  status_name: string
  note: string | null // may be citizen/clerk text: render as text only
  place: string | null // where it happened (custody chain of delegated cases)
}

/// A file of a delegated case (代办材料). The bytes come from the `attachment` command.
export interface Attachment {
  hash: string // SHA-256 hex: the blob's address
  size: number
  mime: string // "image/jpeg" | "image/png" | "application/pdf" (judged by content)
  file_name: string // what the agent named it: render as text only
  material: string // the matter's material it stands for
}

/// One hand-over of a delegated case (代办件流转), oldest first.
export interface CustodyEntry {
  at: string
  step: string // e.g. "CitizenToAgent"
  step_name: string // Chinese, e.g. "代办员 → 受理窗口（递交）"
  actor_name: string
  place: string | null
  note: string | null // render as text only
}

/// The matter's materials checklist against the files gathered so far.
export interface MaterialCheck {
  material: string
  attachments: Attachment[]
  /// Named in the window's one-time supplement notice (一次性告知) still open.
  requested: boolean
}

/// Delegated-case part of an item detail (null for other kinds).
export interface Delegation {
  agent_name: string | null
  checklist: MaterialCheck[]
  /// Files attached for materials not on the matter's list (e.g. extra pages).
  other_attachments: Attachment[]
  custody: CustodyEntry[]
  delivery: { recipient: string; proof: Attachment } | null
  /// What the citizen sees of the progress (在线查询).
  citizen_progress: string
}

/// A case an agent registers (代办件登记), offline.
export interface NewCase {
  matter_id: number
  applicant: { name: string; id_number: string; phone: string }
  content: string
  place: string // the village where the case was taken
}

export interface MatterInfo {
  id: number
  code: string
  name: string
  promised_days: number
  materials: string[] // the matter's material list (for the one-time supplement notice)
  fee_fen: number
}

/// A citizen's number shown masked for every role; revealing one leaves an audit entry.
export type PersonalField = 'id_number' | 'phone'

export interface ItemDetail extends QueueRow {
  content: string // what the citizen wrote: render as text only
  /// id_number and phone arrive masked (1304**********583X, 138****5678); `reveal_personal`
  /// gives the full value when `revealable`.
  applicant: { name: string; id_number: string; phone: string; revealable: boolean }
  requested_slot: Slot | null
  granted_slot: Slot | null
  reply: string | null
  missing_materials: string[]
  rating: number | null
  receipt_no: string | null
  matter: MatterInfo | null
  history: HistoryEntry[]
  pending_ops: number
  /// Op types this user may do now, decided by the same rules the server applies:
  /// "claim" | "accept_reservation" | "reject_reservation" | "mark_arrived" | "mark_no_show" |
  /// "reply_consultation" | "pass_pre_review" | "request_supplement" | "resubmit" |
  /// "refuse_application" | "advance" | "hand_over" | "add_note" | "reply_complaint" |
  /// "mark_read" | "transfer" | "add_attachment" | "collect_result" | "deliver_to_citizen"
  allowed_actions: string[]
  /// For "advance": the stages it may move to, as [status, Chinese name].
  advance_to: [string, string][]
  /// Delegated cases only.
  delegation: Delegation | null
}

/// An action. Serialized exactly like this (`type` tag, snake_case).
export type Op =
  | { type: 'claim' }
  | { type: 'accept_reservation'; slot: Slot }
  | { type: 'reject_reservation'; reason: string }
  | { type: 'mark_arrived' }
  | { type: 'mark_no_show' }
  | { type: 'reply_consultation'; reply: string }
  | { type: 'pass_pre_review' }
  | { type: 'request_supplement'; missing: string[]; note: string }
  | { type: 'resubmit'; place?: string | null }
  | { type: 'refuse_application'; reason: string }
  | { type: 'advance'; to: string }
  | { type: 'hand_over'; place?: string | null }
  | { type: 'add_attachment'; attachment: Attachment }
  | { type: 'collect_result'; place?: string | null }
  | { type: 'deliver_to_citizen'; recipient: string; place: string; proof: Attachment }
  | { type: 'add_note'; text: string }
  | { type: 'reply_complaint'; reply: string }
  | { type: 'mark_read' }
  | { type: 'transfer'; to_unit_id: number; reason: string }

export interface Rejection {
  mutation_id: string
  item_id: string
  item_number: string
  op_type: string
  code: string
  message: string // Chinese reason from the server
  at: string
}

export interface UnitInfo {
  id: number
  name: string
}

/// Counter (窗口叫号): today's accepted reservations plus walk-in tickets, in call order.
export interface Ticket {
  ticket_no: string // "Y003" reservation, "W012" walk-in (现场取号)
  kind: 'reservation' | 'walk_in' | 'transferred' // transferred: sent here by another window (转窗)
  item_id: string | null
  item_number: string | null
  slot: Slot | null
  issued_at: string
  /// A transferred ticket: the window it came from.
  transfer?: { id: string; from_window: number | null } | null
}

export interface CounterState {
  serving: Ticket | null
  /// The citizen of the ticket being served is at the window (开始办理 done).
  serving_started: boolean
  waiting: Ticket[]
  /// Tickets suspended (挂起) while their citizen fetches something; resumed by number.
  suspended: Ticket[]
  /// Tickets called today (done, no-show), newest first, for the counter log.
  called_today: number
  /// This counter's window number (窗口号), named in the spoken call; null until set.
  window_no: number | null
}

/// One call of the hall (叫号): which number goes to which window, when.
export interface HallCall {
  ticket_no: string
  window_no: number | null
  at: string
  /// What the hall hears and reads ("请W001号到3号窗口办理").
  text: string
}

export interface HallBoard {
  /// Newest first: the site's calls from the server, with this counter's own merged in.
  calls: HallCall[]
  /// false: the server did not answer; only this counter's calls are shown.
  site_wide: boolean
}

export interface PasswordCheck {
  ok: boolean
  problems: string[] // Chinese, one per broken rule
}

/// A newer desk release, verified against the county's update key.
export interface UpdateOffer {
  version: string
  notes: string // what is new (zh-CN)
  size: number // bytes
}

// ---- commands (name → request → response) ----
export interface Commands {
  /// A newer release (at start and daily); null when none or no update key is configured.
  check_update: { req: undefined; res: UpdateOffer | null }
  /// With the clerk's consent: download, verify, install, restart (never returns on success).
  install_update: { req: undefined; res: null }
  get_settings: { req: undefined; res: Settings }
  save_endpoints: { req: { endpoints: Endpoint[] }; res: Settings }
  set_autostart: { req: { enabled: boolean }; res: Settings }
  /// Resume the remembered session from the OS keyring; null when there is none.
  try_resume: { req: undefined; res: Session | null }
  login: { req: { username: string; password: string; remember: boolean }; res: Session }
  check_password: { req: { password: string }; res: PasswordCheck }
  change_password: { req: { old_password: string; new_password: string }; res: Session }
  logout: { req: undefined; res: null }
  get_status: { req: undefined; res: Status }
  sync_now: { req: undefined; res: null }
  queue: { req: QueueRequest; res: QueueRow[] }
  item: { req: { id: string }; res: ItemDetail }
  /// The slots a reservation may be granted: inside office hours, not past (the accept dialog).
  reservation_slots: { req: { id: string }; res: SlotDay[] }
  /// The full value of a masked number (显示完整号码); the desk records the act for the audit.
  reveal_personal: { req: { id: string; field: PersonalField }; res: string }
  act: { req: { id: string; op: Op }; res: ItemDetail }
  rejections: { req: undefined; res: Rejection[] }
  dismiss_rejection: { req: { mutation_id: string }; res: null }
  units: { req: undefined; res: UnitInfo[] }
  set_away: { req: { away: boolean }; res: Status }
  counter_state: { req: undefined; res: CounterState }
  counter_call_next: { req: undefined; res: CounterState }
  counter_walk_in: { req: undefined; res: CounterState }
  counter_no_show: { req: undefined; res: CounterState }
  counter_done: { req: undefined; res: CounterState }
  /// Calls the ticket being served again by voice (重呼).
  counter_recall: { req: undefined; res: CounterState }
  /// This counter's window number (1–99), or null to clear it.
  set_window_no: { req: { window_no: number | null }; res: CounterState }
  /// Calls a waiting ticket out of turn (指呼).
  counter_call_number: { req: { ticket_no: string }; res: CounterState }
  /// The citizen is at the window (开始办理).
  counter_start: { req: undefined; res: CounterState }
  /// Sets the ticket being served aside (挂起): its waiting time is not service time.
  counter_suspend: { req: undefined; res: CounterState }
  /// Serves a suspended ticket again (恢复办理).
  counter_resume: { req: { ticket_no: string }; res: CounterState }
  /// Sends the ticket being served to another window of the site (转窗).
  counter_transfer: { req: { to_window: number }; res: CounterState }
  /// The hall screen's calls (its own window calls this only).
  hall_board: { req: undefined; res: HallBoard }
  /// Opens the hall screen window (大厅叫号屏) for a wall display.
  open_hall_screen: { req: undefined; res: null }
  /// The assessment board (考核统计) of the user's scope for a period so far, from the server.
  /// Errors: `offline` (figures come from the server only), `forbidden` (agents).
  stats_report: { req: { period: StatsPeriod }; res: StatsView }
  /// Supervision cases (督办) of the user's scope, from the server (`open_only`: not closed).
  supervision_cases: { req: { open_only: boolean }; res: CaseView[] }
  /// The unit's leader answers a case: cause (原因) and correction (整改措施), both required.
  case_answer: { req: { id: number; cause: string; correction: string }; res: CaseView }
  /// A move with a note: a supervisor's `close` (note optional), `return` (required), `uphold`
  /// (optional) or `reject` (required) of an appeal; the leader's `appeal` of a bad rating's
  /// follow-up (required: why the rating is mistaken).
  case_step: { req: { id: number; action: CaseStepAction; note: string }; res: CaseView }
  /// Agents: the matters a case can be registered for (with their materials lists).
  matters: { req: undefined; res: MatterInfo[] }
  /// Agents: register a delegated case offline; it syncs when a network appears.
  register_case: { req: NewCase; res: ItemDetail }
}

// ---- assessment board (考核统计, R-STAT) ----
export type StatsPeriod = 'day' | 'week' | 'month' | 'quarter'

export interface StatsView {
  period: StatsPeriod
  /// "本月（2026-12-01 至 2026-12-06）".
  title: string
  scope: 'own' | 'unit' | 'all'
  /// "我的考核" | "本单位考核" | "全县考核".
  scope_zh: string
  rule_version: number
  /// Local "HH:MM" the server judged the figures at.
  generated_at: string
  /// The eight dimensions (§13), in order: the table's columns.
  dimensions: { code: string; name: string }[]
  total: FiguresView
  /// Units ranked by score (the county's board; a leader's one unit).
  units: RankedView[]
  /// Persons ranked within their unit.
  persons: RankedView[]
  /// Rating level names, best first ("非常满意" … "非常不满意").
  rating_levels: string[]
}

export interface RankedView {
  id: number
  name: string
  /// A person's unit (null for unit rows).
  unit_name: string | null
  rank: number
  figures: FiguresView
}

export interface FiguresView {
  score: number | null
  /// "76.7" or "—".
  score_label: string
  /// One per dimension, in `StatsView.dimensions` order.
  cells: CellView[]
  ratings: { levels: number[]; count: number; bad: number; excluded: number; good_rate_label: string }
}

/// A dimension's figures: clocks on time / late / overdue / running (for 评议结果管理: ratings,
/// `on_time` the good ones, `late` the 差评).
export interface CellView {
  dimension: string
  count: number
  on_time: number
  late: number
  overdue: number
  running: number
  /// 0..1, null without figures.
  rate: number | null
  /// "66.7%" or "—".
  rate_label: string
  /// Mean working time, "1小时5分" or "—".
  mean_label: string
}

// ---- supervision cases (督办, R-SUP) and bad ratings' follow-ups (差评回访, R-EVA) ----
export type CaseStepAction = 'close' | 'return' | 'appeal' | 'uphold' | 'reject'

export interface CaseView {
  id: number
  kind: 'supervision' | 'follow_up'
  /// "督办" | "差评回访".
  kind_zh: string
  /// The answer's first field: "原因" (督办) or "回访情况" (follow-up).
  cause_label: string
  item_number: string
  unit_name: string
  /// "咨询答复超期" or the supervisor's reason.
  reason: string
  stage: 'open' | 'answered' | 'returned' | 'appealed' | 'closed'
  /// "待答复" | "待审核" | "已退回" | "申诉中" | "已办结".
  stage_zh: string
  /// "待单位答复" | "待督查审核" | "".
  waiting_zh: string
  opened_at: string
  /// "答复期限 12-09 10:00" | "已超期（…）" | "".
  due_label: string
  overdue: boolean
  /// This user may answer now (the unit's leader).
  can_answer: boolean
  /// This user may close or return now (a supervisor).
  can_review: boolean
  /// This user may appeal now (the unit's leader; follow-ups only).
  can_appeal: boolean
  /// This user may uphold or reject the appeal now (a supervisor).
  can_decide_appeal: boolean
  steps: { at: string; actor: string; action_zh: string; text: string }[]
}

/// Commands whose request is raw bytes, not `{ req }` (see `api/desk.ts`, `captureFile`).
/// `capture_attachment`: the file's bytes as the body, headers `x-item-id`, `x-material` and
/// `x-file-name` (URI-encoded). The shell checks the type by content and the size, downscales
/// photos and strips their metadata, stores it encrypted, and (for a material) adds it to the
/// case. `x-purpose: proof` stores a delivery proof only (for `deliver_to_citizen`).
/// Errors: `attachment_empty` | `attachment_too_large` | `attachment_unsupported` |
/// `attachment_type_mismatch` | `image_unreadable`, with a Chinese message.
export const CAPTURE_ATTACHMENT = 'capture_attachment'
/// `attachment`: `{ req: { hash } }` → the file's bytes (ArrayBuffer), from the cache or the server.
export const ATTACHMENT_BYTES = 'attachment'

// ---- events the shell emits ----
export const EVENTS = {
  status: 'desk://status', // payload: Status
  itemsChanged: 'desk://items-changed', // payload: { ids: string[]; new_items: string[] }
  rejected: 'desk://rejected', // payload: Rejection
  focusItem: 'desk://focus-item', // payload: { id: string } (notification "open" / tray)
  alert: 'desk://alert', // payload: Alert
  alertWithdrawn: 'desk://alert-withdrawn', // payload: { item_ids: string[] } (handled, taken, moved away)
  sessionEnded: 'desk://session-ended', // payload: { reason: string } (token expired, logged out elsewhere)
  hallCall: 'desk://hall-call', // payload: { ticket_no: string; window_no: number | null } (a call at this counter)
} as const

export interface Alert {
  item_id: string
  item_number: string
  /// "reservation_new" | "ladder_b" | "ladder_leader" | "ladder_overdue" | "case_supplement" | "case_result_ready" (agents)
  kind: string
  /// Chinese text without personal data, e.g. "新预约 YY20261130-0003：县公安局 户籍迁入 请在1个工作小时内处理".
  text: string
}
