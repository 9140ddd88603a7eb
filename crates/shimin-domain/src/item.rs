//! Work items (办件) and their state machines.
//!
//! [`decide`] is the one place that says whether an action on an item is allowed and what it
//! changes. The server calls it authoritatively inside the transaction that applies a pushed
//! mutation; the desk calls it to apply the same mutation optimistically to its cache and to
//! replay pending mutations on top of fresh server state (rebase).

use crate::role::{Actor, Role};

/// The kinds of work item (DOMAIN.md §2, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// 在线预约 (R-RES)
    Reservation,
    /// 在线咨询 (R-CON)
    Consultation,
    /// 网上申报 with pre-review 网上预审 (R-APP)
    Application,
    /// 在线投诉 (R-CMP)
    Complaint,
    /// 在线评议 (R-EVA)
    Evaluation,
    /// 代办件: an application carried by a township agent (R-DEL)
    DelegatedCase,
}

impl ItemKind {
    pub const ALL: [ItemKind; 6] = [
        ItemKind::Reservation,
        ItemKind::Consultation,
        ItemKind::Application,
        ItemKind::Complaint,
        ItemKind::Evaluation,
        ItemKind::DelegatedCase,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ItemKind::Reservation => "reservation",
            ItemKind::Consultation => "consultation",
            ItemKind::Application => "application",
            ItemKind::Complaint => "complaint",
            ItemKind::Evaluation => "evaluation",
            ItemKind::DelegatedCase => "delegated_case",
        }
    }

    pub fn from_code(code: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            ItemKind::Reservation => "在线预约",
            ItemKind::Consultation => "在线咨询",
            ItemKind::Application => "网上申报",
            ItemKind::Complaint => "在线投诉",
            ItemKind::Evaluation => "在线评议",
            ItemKind::DelegatedCase => "代办件",
        }
    }

    /// Number prefix of this kind's item numbers (办件编号), e.g. `YY20261129-0001`.
    pub fn number_prefix(self) -> &'static str {
        match self {
            ItemKind::Reservation => "YY",
            ItemKind::Consultation => "ZX",
            ItemKind::Application => "SB",
            ItemKind::Complaint => "TS",
            ItemKind::Evaluation => "PY",
            ItemKind::DelegatedCase => "DB",
        }
    }

    /// The state a new item of this kind starts in.
    pub fn initial_status(self) -> Status {
        match self {
            ItemKind::Application => Status::Submitted,
            ItemKind::DelegatedCase => Status::Registered,
            _ => Status::Received,
        }
    }
}

/// Item status. One enum for all kinds; [`Status::valid_for`] says which belong to which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// 待处理: received, nobody acted yet.
    Received,
    /// 已登记: a delegated case registered by the agent, not yet handed to the window.
    Registered,
    /// 待预审: application submitted, awaiting pre-review.
    Submitted,
    /// 待补正: one-time supplement notice issued (一次性告知), waiting on the citizen.
    Supplement,
    /// 已受理: reservation accepted with a time slot / application accepted (受理).
    Accepted,
    /// 已拒绝: reservation rejected with a reason.
    Rejected,
    /// 已到场: the citizen came for the reservation.
    Arrived,
    /// 未到场: the citizen did not come.
    NoShow,
    /// 调查中: complaint under investigation.
    Investigating,
    /// 已答复: consultation or complaint answered.
    Answered,
    /// 不予受理: application refused with a written reason.
    Refused,
    /// 审核
    Reviewing,
    /// 勘验
    Inspecting,
    /// 收费
    Fee,
    /// 审批
    Deciding,
    /// 办结
    Completed,
    /// 送达
    Delivered,
    /// 已阅: evaluation read by the unit.
    Read,
    /// 已领取: the agent collected a delegated case's result from the window (代办员领取结果),
    /// to deliver it to the citizen.
    Collected,
}

impl Status {
    pub const ALL: [Status; 19] = [
        Status::Received,
        Status::Registered,
        Status::Submitted,
        Status::Supplement,
        Status::Accepted,
        Status::Rejected,
        Status::Arrived,
        Status::NoShow,
        Status::Investigating,
        Status::Answered,
        Status::Refused,
        Status::Reviewing,
        Status::Inspecting,
        Status::Fee,
        Status::Deciding,
        Status::Completed,
        Status::Delivered,
        Status::Read,
        Status::Collected,
    ];

    /// The application workflow after acceptance, in order (DOMAIN.md §4).
    pub const APPLICATION_STAGES: [Status; 7] = [
        Status::Accepted,
        Status::Reviewing,
        Status::Inspecting,
        Status::Fee,
        Status::Deciding,
        Status::Completed,
        Status::Delivered,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Registered => "registered",
            Status::Submitted => "submitted",
            Status::Supplement => "supplement",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Arrived => "arrived",
            Status::NoShow => "no_show",
            Status::Investigating => "investigating",
            Status::Answered => "answered",
            Status::Refused => "refused",
            Status::Reviewing => "reviewing",
            Status::Inspecting => "inspecting",
            Status::Fee => "fee",
            Status::Deciding => "deciding",
            Status::Completed => "completed",
            Status::Delivered => "delivered",
            Status::Read => "read",
            Status::Collected => "collected",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Received => "待处理",
            Status::Registered => "已登记",
            Status::Submitted => "待预审",
            Status::Supplement => "待补正",
            Status::Accepted => "已受理",
            Status::Rejected => "已拒绝",
            Status::Arrived => "已到场",
            Status::NoShow => "未到场",
            Status::Investigating => "调查中",
            Status::Answered => "已答复",
            Status::Refused => "不予受理",
            Status::Reviewing => "审核中",
            Status::Inspecting => "勘验中",
            Status::Fee => "待收费",
            Status::Deciding => "审批中",
            Status::Completed => "已办结",
            Status::Delivered => "已送达",
            Status::Read => "已阅",
            Status::Collected => "代办员已领取",
        }
    }

    /// Whether the item is finished: no statutory clock runs, nothing to handle.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            Status::Rejected
                | Status::Arrived
                | Status::NoShow
                | Status::Answered
                | Status::Refused
                | Status::Delivered
                | Status::Read
        )
    }

    /// Whether `self` is a status items of `kind` can be in.
    pub fn valid_for(self, kind: ItemKind) -> bool {
        use Status::*;
        match kind {
            ItemKind::Reservation => matches!(self, Received | Accepted | Rejected | Arrived | NoShow),
            ItemKind::Consultation => matches!(self, Received | Answered),
            ItemKind::Complaint => matches!(self, Received | Investigating | Answered),
            ItemKind::Evaluation => matches!(self, Received | Read),
            ItemKind::Application => {
                matches!(self, Submitted | Supplement | Refused) || Status::APPLICATION_STAGES.contains(&self)
            }
            ItemKind::DelegatedCase => {
                matches!(self, Registered | Submitted | Supplement | Refused | Collected)
                    || Status::APPLICATION_STAGES.contains(&self)
            }
        }
    }
}

/// What the rules need to know about an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemFacts {
    pub kind: ItemKind,
    pub status: Status,
    /// Handling unit (受理单位).
    pub unit_id: i64,
    /// The agent carrying a delegated case.
    pub agent_id: Option<i64>,
    /// The clerk who took the item (claimed it); `None` while nobody has.
    pub handler_id: Option<i64>,
}

/// An action on an item, as the rules see it. The wire form with its texts and slots is
/// `shimin_protocol::Op`, which validates its own payload and maps to one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Take the item (stops the notification ladder for everyone else).
    Claim,
    /// Accept a reservation with a time slot (claims it if nobody has).
    AcceptReservation,
    /// Reject a reservation with a reason.
    RejectReservation,
    /// The citizen came for an accepted reservation.
    MarkArrived,
    /// The citizen did not come.
    MarkNoShow,
    /// Answer a consultation.
    ReplyConsultation,
    /// Pre-review passed: the application is accepted (受理), a receipt is issued.
    PassPreReview,
    /// One-time supplement notice (一次性告知).
    RequestSupplement,
    /// The missing materials arrived; pre-review starts again.
    Resubmit,
    /// Refuse to accept (不予受理) with a written reason.
    RefuseApplication,
    /// Move an accepted application to a later stage of [`Status::APPLICATION_STAGES`].
    Advance(Status),
    /// An agent hands a registered delegated case to the receiving window.
    HandOver,
    /// An agent adds a material (photo or scan) to the own delegated case while it is with
    /// the agent (registered, or back for a supplement).
    AddAttachment,
    /// The agent collects the result of a completed delegated case from the window.
    CollectResult,
    /// The agent delivers the collected result to the citizen (送达), with proof.
    DeliverToCitizen,
    /// A note (investigation note, remark); does not change the status except that the first
    /// note on a received complaint starts the investigation.
    AddNote,
    /// Answer a complaint.
    ReplyComplaint,
    /// An evaluation was read.
    MarkRead,
    /// Transfer the item to another unit (转办).
    Transfer(i64),
}

impl Command {
    pub fn code(self) -> &'static str {
        match self {
            Command::Claim => "claim",
            Command::AcceptReservation => "accept_reservation",
            Command::RejectReservation => "reject_reservation",
            Command::MarkArrived => "mark_arrived",
            Command::MarkNoShow => "mark_no_show",
            Command::ReplyConsultation => "reply_consultation",
            Command::PassPreReview => "pass_pre_review",
            Command::RequestSupplement => "request_supplement",
            Command::Resubmit => "resubmit",
            Command::RefuseApplication => "refuse_application",
            Command::Advance(_) => "advance",
            Command::HandOver => "hand_over",
            Command::AddAttachment => "add_attachment",
            Command::CollectResult => "collect_result",
            Command::DeliverToCitizen => "deliver_to_citizen",
            Command::AddNote => "add_note",
            Command::ReplyComplaint => "reply_complaint",
            Command::MarkRead => "mark_read",
            Command::Transfer(_) => "transfer",
        }
    }

    /// What the history (办理记录) shows for an action code: a [`Command::code`], `created` or
    /// [`REGISTER_CASE`].
    pub fn action_name_zh(code: &str) -> &'static str {
        match code {
            "created" => "提交",
            "claim" => "认领",
            "accept_reservation" => "受理预约",
            "reject_reservation" => "拒绝预约",
            "mark_arrived" => "已到场",
            "mark_no_show" => "未到场",
            "reply_consultation" => "答复咨询",
            "pass_pre_review" => "预审通过（受理）",
            "request_supplement" => "一次性告知补正",
            "resubmit" => "补正后重新提交",
            "refuse_application" => "不予受理",
            "advance" => "推进办理环节",
            "hand_over" => "代办员递交窗口",
            REGISTER_CASE => "代办员登记",
            "add_attachment" => "添加材料",
            "collect_result" => "代办员领取结果",
            "deliver_to_citizen" => "送达群众",
            "add_note" => "记录",
            "reply_complaint" => "答复投诉",
            "mark_read" => "已阅",
            "transfer" => "转办",
            _ => "其他操作",
        }
    }
}

/// The history action of an agent registering a delegated case (the item's creation by a desk;
/// see [`may_register_case`]).
pub const REGISTER_CASE: &str = "register_case";

/// Whether `actor` may register a new delegated case (代办件登记): township agents only. The
/// case is created in [`Status::Registered`], carried by the actor, handled by the matter's unit.
pub fn may_register_case(actor: &Actor) -> Result<(), Refusal> {
    if actor.role == Role::Agent {
        Ok(())
    } else {
        Err(Refusal::NotPermitted)
    }
}

/// Why the rules refuse an action. Codes are stable; the desk shows [`Refusal::message_zh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The actor's role or unit may not act on this item.
    NotPermitted,
    /// Another clerk already took the item.
    AlreadyClaimed,
    /// The action does not apply to this kind of item.
    WrongKind,
    /// The action does not apply in the item's current status.
    InvalidState,
    /// Transfer to the unit that already handles the item.
    SameUnit,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NotPermitted => "not_permitted",
            Refusal::AlreadyClaimed => "already_claimed",
            Refusal::WrongKind => "wrong_kind",
            Refusal::InvalidState => "invalid_state",
            Refusal::SameUnit => "same_unit",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            Refusal::NotPermitted => "无权办理此件",
            Refusal::AlreadyClaimed => "此件已被其他人员接办",
            Refusal::WrongKind => "此类办件不支持该操作",
            Refusal::InvalidState => "办件当前状态不允许该操作（可能已被他人处理）",
            Refusal::SameUnit => "不能转办给本单位",
        }
    }
}

/// What an allowed action changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub handler_id: Option<i64>,
    pub unit_id: i64,
}

/// Decides whether `actor` may perform `command` on the item and what results.
pub fn decide(item: &ItemFacts, actor: &Actor, command: Command) -> Result<Outcome, Refusal> {
    use ItemKind as K;
    use Status as S;

    let agent_owns = actor.role == Role::Agent && item.agent_id == Some(actor.user_id);
    let agent_command = matches!(
        command,
        Command::HandOver
            | Command::Resubmit
            | Command::AddNote
            | Command::AddAttachment
            | Command::CollectResult
            | Command::DeliverToCitizen
    );
    // What only the carrying agent does: the case's files, and taking the result to the citizen.
    let agent_only = matches!(
        command,
        Command::AddAttachment | Command::CollectResult | Command::DeliverToCitizen
    );
    if agent_owns && agent_command {
        // An agent acts on the own delegated case only through these commands.
    } else if agent_only || !actor.may_handle(item.unit_id, item.agent_id) || actor.role == Role::Agent {
        return Err(Refusal::NotPermitted);
    }
    if item.status.is_closed() && !matches!(command, Command::AddNote) {
        return Err(Refusal::InvalidState);
    }

    let mut out = Outcome {
        status: item.status,
        handler_id: item.handler_id,
        unit_id: item.unit_id,
    };
    // Taking an item: nobody has it yet, or the actor already has it.
    let take = |out: &mut Outcome| -> Result<(), Refusal> {
        match item.handler_id {
            Some(h) if h != actor.user_id => Err(Refusal::AlreadyClaimed),
            _ => {
                out.handler_id = Some(actor.user_id);
                Ok(())
            }
        }
    };
    let require_kind = |kinds: &[ItemKind]| {
        if kinds.contains(&item.kind) {
            Ok(())
        } else {
            Err(Refusal::WrongKind)
        }
    };
    let require_status = |statuses: &[Status]| {
        if statuses.contains(&item.status) {
            Ok(())
        } else {
            Err(Refusal::InvalidState)
        }
    };
    let applications = [K::Application, K::DelegatedCase];

    match command {
        Command::Claim => {
            require_kind(&[
                K::Reservation,
                K::Consultation,
                K::Application,
                K::Complaint,
                K::DelegatedCase,
            ])?;
            require_status(&[S::Received, S::Submitted, S::Investigating])?;
            take(&mut out)?;
        }
        Command::AcceptReservation => {
            require_kind(&[K::Reservation])?;
            require_status(&[S::Received])?;
            take(&mut out)?;
            out.status = S::Accepted;
        }
        Command::RejectReservation => {
            require_kind(&[K::Reservation])?;
            require_status(&[S::Received, S::Accepted])?;
            take(&mut out)?;
            out.status = S::Rejected;
        }
        Command::MarkArrived | Command::MarkNoShow => {
            require_kind(&[K::Reservation])?;
            require_status(&[S::Accepted])?;
            out.status = if command == Command::MarkArrived {
                S::Arrived
            } else {
                S::NoShow
            };
        }
        Command::ReplyConsultation => {
            require_kind(&[K::Consultation])?;
            require_status(&[S::Received])?;
            take(&mut out)?;
            out.status = S::Answered;
        }
        Command::PassPreReview => {
            require_kind(&applications)?;
            require_status(&[S::Submitted])?;
            take(&mut out)?;
            out.status = S::Accepted;
        }
        Command::RequestSupplement => {
            require_kind(&applications)?;
            require_status(&[S::Submitted])?;
            take(&mut out)?;
            out.status = S::Supplement;
        }
        Command::Resubmit => {
            require_kind(&applications)?;
            require_status(&[S::Supplement])?;
            out.status = S::Submitted;
        }
        Command::RefuseApplication => {
            require_kind(&applications)?;
            require_status(&[S::Submitted, S::Supplement])?;
            take(&mut out)?;
            out.status = S::Refused;
        }
        Command::Advance(to) => {
            require_kind(&applications)?;
            let stages = &Status::APPLICATION_STAGES;
            let from_at = stages
                .iter()
                .position(|s| *s == item.status)
                .ok_or(Refusal::InvalidState)?;
            let to_at = stages
                .iter()
                .position(|s| *s == to)
                .ok_or(Refusal::InvalidState)?;
            if to_at <= from_at {
                return Err(Refusal::InvalidState);
            }
            // A delegated case's result goes back through the agent (collect, deliver).
            if item.kind == K::DelegatedCase && to == S::Delivered {
                return Err(Refusal::InvalidState);
            }
            out.status = to;
        }
        Command::HandOver => {
            require_kind(&[K::DelegatedCase])?;
            require_status(&[S::Registered])?;
            out.status = S::Submitted;
        }
        Command::AddAttachment => {
            require_kind(&[K::DelegatedCase])?;
            require_status(&[S::Registered, S::Supplement])?;
        }
        Command::CollectResult => {
            require_kind(&[K::DelegatedCase])?;
            require_status(&[S::Completed])?;
            out.status = S::Collected;
        }
        Command::DeliverToCitizen => {
            require_kind(&[K::DelegatedCase])?;
            require_status(&[S::Collected])?;
            out.status = S::Delivered;
        }
        Command::AddNote => {
            if item.kind == K::Complaint && item.status == S::Received {
                take(&mut out)?;
                out.status = S::Investigating;
            }
        }
        Command::ReplyComplaint => {
            require_kind(&[K::Complaint])?;
            require_status(&[S::Received, S::Investigating])?;
            if !matches!(actor.role, Role::NetAdmin | Role::DeptLeader) {
                return Err(Refusal::NotPermitted);
            }
            take(&mut out)?;
            out.status = S::Answered;
        }
        Command::MarkRead => {
            require_kind(&[K::Evaluation])?;
            require_status(&[S::Received])?;
            out.status = S::Read;
        }
        Command::Transfer(to_unit) => {
            if to_unit == item.unit_id {
                return Err(Refusal::SameUnit);
            }
            out.unit_id = to_unit;
            out.handler_id = None;
        }
    }
    debug_assert!(out.status.valid_for(item.kind));
    Ok(out)
}

/// One hand-over in the custody chain of a delegated case (代办件流转): who passes the case or
/// its result to whom. The chain is read from the item's history, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustodyStep {
    /// The citizen entrusts the case and papers to the agent (registration).
    CitizenToAgent,
    /// The agent hands the case to the receiving window.
    AgentToWindow,
    /// The window accepts it (受理) and passes it to the handling unit.
    WindowToUnit,
    /// The window sends it back to the agent for a supplement (一次性告知).
    WindowToAgentForSupplement,
    /// The agent brings the supplemented case back to the window.
    AgentToWindowAgain,
    /// The handling unit finished it (办结): the result waits at the window.
    ResultReady,
    /// The agent collected the result from the window.
    WindowToAgent,
    /// The agent delivered the result to the citizen (送达).
    AgentToCitizen,
}

impl CustodyStep {
    /// The step a history entry of a delegated case records, from its action code and the
    /// status after it; `None` for entries that move nothing (notes, attachments, stages).
    pub fn of_event(action: &str, status_after: Status) -> Option<CustodyStep> {
        Some(match (action, status_after) {
            (REGISTER_CASE, _) => CustodyStep::CitizenToAgent,
            ("hand_over", _) => CustodyStep::AgentToWindow,
            ("pass_pre_review", _) => CustodyStep::WindowToUnit,
            ("request_supplement", _) => CustodyStep::WindowToAgentForSupplement,
            ("resubmit", _) => CustodyStep::AgentToWindowAgain,
            ("advance", Status::Completed) => CustodyStep::ResultReady,
            ("collect_result", _) => CustodyStep::WindowToAgent,
            ("deliver_to_citizen", _) => CustodyStep::AgentToCitizen,
            _ => return None,
        })
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            CustodyStep::CitizenToAgent => "群众 → 代办员（登记收件）",
            CustodyStep::AgentToWindow => "代办员 → 受理窗口（递交）",
            CustodyStep::WindowToUnit => "受理窗口 → 办理单位（受理）",
            CustodyStep::WindowToAgentForSupplement => "受理窗口 → 代办员（一次性告知补正）",
            CustodyStep::AgentToWindowAgain => "代办员 → 受理窗口（补正后递交）",
            CustodyStep::ResultReady => "办理单位 → 受理窗口（办结，结果待领取）",
            CustodyStep::WindowToAgent => "受理窗口 → 代办员（领取结果）",
            CustodyStep::AgentToCitizen => "代办员 → 群众（送达）",
        }
    }
}

/// What the citizen sees of an item's progress (在线查询). For a delegated case it follows the
/// custody chain, so the citizen knows who holds the papers.
pub fn citizen_progress_zh(kind: ItemKind, status: Status) -> &'static str {
    use Status as S;
    match (kind, status) {
        (ItemKind::DelegatedCase, S::Registered) => "代办员已收件，正在整理材料",
        (ItemKind::DelegatedCase, S::Submitted) => "代办员已递交窗口，等待预审",
        (ItemKind::DelegatedCase, S::Supplement) => "需要补充材料，代办员将与您联系",
        (ItemKind::DelegatedCase, S::Completed) => "已办结，等待代办员领取结果",
        (ItemKind::DelegatedCase, S::Collected) => "代办员已领取结果，正在送达",
        (ItemKind::DelegatedCase, S::Delivered) => "结果已送达",
        (_, S::Received | S::Submitted) => "已提交，等待办理",
        (_, S::Supplement) => "需要补充材料",
        (_, S::Accepted) if kind == ItemKind::Reservation => "预约已受理",
        (_, S::Accepted | S::Reviewing | S::Inspecting | S::Fee | S::Deciding) => "办理中",
        (_, S::Completed) => "已办结",
        (_, S::Delivered) => "已送达",
        (_, S::Refused) => "不予受理",
        (_, S::Rejected) => "预约未通过",
        (_, S::Arrived) => "已到场办理",
        (_, S::NoShow) => "未到场",
        (_, S::Investigating) => "调查处理中",
        (_, S::Answered) => "已答复",
        (_, S::Read) => "已阅",
        (_, S::Registered | S::Collected) => "办理中",
    }
}
