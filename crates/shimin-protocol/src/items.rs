//! Work items on the wire, the actions (ops) a desk pushes, and intake requests.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::item::{Command, ItemKind, Status};
use uuid::Uuid;

/// A citizen's personal data (R-SEC). `Debug` never prints it, so it cannot leak into logs
/// through a `{:?}`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Applicant {
    pub name: String,
    /// 身份证号 or unified social credit code for companies.
    pub id_number: String,
    pub phone: String,
}

impl std::fmt::Debug for Applicant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Applicant { <personal data redacted> }")
    }
}

impl Applicant {
    /// The form every screen and list shows, for every role: the name readable, the ID number
    /// and the phone masked (1304**********583X, 138****5678). The full numbers are shown only
    /// by a deliberate, audited reveal (issue 16).
    pub fn as_on_screen(&self) -> Applicant {
        Applicant {
            name: self.name.clone(),
            id_number: mask_id_number(&self.id_number),
            phone: mask_phone(&self.phone),
        }
    }

    /// The form supervision users see: surname kept, the rest masked.
    pub fn masked(&self) -> Applicant {
        Applicant {
            name: mask_name(&self.name),
            id_number: mask_tail(&self.id_number, 4),
            phone: mask_tail(&self.phone, 4),
        }
    }
}

impl ItemRecord {
    /// The values of this record classified as a citizen's personal data (R-SEC): the
    /// applicant's name, ID number and phone, and who signed for a delivered result. Marked
    /// here once; [`ItemRecord::for_supervision`] masks them wherever they appear.
    pub fn personal_values(&self) -> Vec<(String, String)> {
        let mut v = vec![
            (
                self.applicant.id_number.clone(),
                mask_tail(&self.applicant.id_number, 4),
            ),
            (self.applicant.phone.clone(), mask_tail(&self.applicant.phone, 4)),
            (self.applicant.name.clone(), mask_name(&self.applicant.name)),
        ];
        if let Some(d) = &self.details.delivery {
            v.push((d.recipient.clone(), mask_name(&d.recipient)));
        }
        // Longest first, so a name inside a longer value is not masked half.
        v.retain(|(value, _)| !value.trim().is_empty());
        v.sort_by_key(|(value, _)| std::cmp::Reverse(value.chars().count()));
        v
    }

    /// The record as supervision roles see it (issue 16, finding 5): the personal fields
    /// masked, and every free text — title, the citizen's content, replies, notes of the
    /// history, missing materials — shown through the same rule (each personal value of the
    /// record replaced by its masked form wherever it appears), not by remembering which
    /// fields might hold one.
    pub fn for_supervision(mut self) -> ItemRecord {
        let values = self.personal_values();
        let redact = |text: &str| {
            values.iter().fold(text.to_owned(), |t, (value, masked)| {
                t.replace(value.as_str(), masked)
            })
        };
        self.title = redact(&self.title);
        self.content = redact(&self.content);
        self.details.reply = self.details.reply.as_deref().map(redact);
        self.details.missing_materials = self.details.missing_materials.iter().map(|m| redact(m)).collect();
        if let Some(d) = &mut self.details.delivery {
            d.recipient = mask_name(&d.recipient);
        }
        for e in &mut self.events {
            e.note = e.note.as_deref().map(redact);
            e.place = e.place.as_deref().map(redact);
        }
        self.applicant = self.applicant.masked();
        self
    }
}

/// Masks a name: the surname kept (张**).
pub fn mask_name(name: &str) -> String {
    let surname: String = name.chars().take(1).collect();
    format!("{surname}**")
}

/// Masks a number: all but the last `keep_end` characters starred (1304**********583X keeps
/// the first four too when it is an ID number: see [`mask_id_number`]).
pub fn mask_tail(s: &str, keep_end: usize) -> String {
    let n = s.chars().count();
    let tail: String = s.chars().skip(n.saturating_sub(keep_end)).collect();
    format!("{}{}", "*".repeat(n.saturating_sub(keep_end)), tail)
}

/// An ID number as lists and screens show it: the region's first four and the last four
/// (1304**********583X).
pub fn mask_id_number(s: &str) -> String {
    let n = s.chars().count();
    if n <= 8 {
        return mask_tail(s, 0);
    }
    let head: String = s.chars().take(4).collect();
    let tail: String = s.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

/// A phone as lists and screens show it: the first three and the last four (138****5678).
pub fn mask_phone(s: &str) -> String {
    let n = s.chars().count();
    if n <= 7 {
        return mask_tail(s, 2);
    }
    let head: String = s.chars().take(3).collect();
    let tail: String = s.chars().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 7))
}

/// A work item (办件) as the desk caches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub id: Uuid,
    /// Human item number (办件编号), e.g. `YY20261129-0007`.
    pub number: String,
    /// On the wire as `shimin_domain::item::ItemKind::code`.
    #[serde(with = "crate::coded")]
    pub kind: ItemKind,
    /// On the wire as `shimin_domain::item::Status::code`.
    #[serde(with = "crate::coded")]
    pub status: Status,
    /// Handling unit (受理单位).
    pub unit_id: i64,
    pub matter_id: Option<i64>,
    /// Agent carrying a delegated case.
    pub agent_id: Option<i64>,
    /// Clerk who took the item.
    pub handler_id: Option<i64>,
    pub applicant: Applicant,
    /// Short subject line.
    pub title: String,
    /// What the citizen wrote. Plain text; never rendered as HTML.
    pub content: String,
    pub received_at: DateTime<Utc>,
    /// Statutory deadline computed by `shimin_domain::statutory::deadline_for` on the server.
    pub due_at: Option<DateTime<Utc>>,
    /// The deadline falls into a year without an official holiday schedule.
    #[serde(default)]
    pub due_provisional: bool,
    /// A statutory clock of the item ran out before its duty was met (超期); recorded by the
    /// server's supervision task, never cleared (§32).
    #[serde(default)]
    pub overdue: bool,
    /// A supervision case (督办) is on record for the item.
    #[serde(default)]
    pub supervision: bool,
    /// Kind-specific fields.
    #[serde(default)]
    pub details: ItemDetails,
    /// Server version: the change sequence number of the item's last change.
    pub version: i64,
    /// History (办理记录), oldest first.
    #[serde(default)]
    pub events: Vec<ItemEvent>,
}

/// Kind-specific fields; absent ones are `None`/empty.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ItemDetails {
    /// Reservation: the slot the citizen asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_slot: Option<Slot>,
    /// Reservation: the slot granted on acceptance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted_slot: Option<Slot>,
    /// Reply to a consultation or complaint; reason of a rejection or refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// One-time supplement notice: every missing material (一次性告知).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_materials: Vec<String>,
    /// Evaluation: 1 (very dissatisfied) … 5 (very satisfied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// Evaluation: the item it rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates_item: Option<Uuid>,
    /// Receipt number of an acceptance/refusal (受理/不予受理凭证).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_no: Option<String>,
    /// Delegated case: the files the agent gathered, each for one material of the matter's
    /// list (代办材料), in the order they were added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
    /// Delegated case: the delivery of the result to the citizen (送达).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
}

/// A file attached to an item. The bytes are a content-addressed blob (`/api/v1/blobs/{hash}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    /// SHA-256 of the content, lower-case hex.
    pub hash: String,
    pub size: u64,
    /// Content type (`image/jpeg`, `image/png`, `application/pdf`), judged by content.
    pub mime: String,
    /// What the agent named the file (shown only, never used to judge the type).
    pub file_name: String,
    /// The material of the matter's list it stands for (e.g. 身份证复印件).
    pub material: String,
}

/// The hand-over of a delegated case's result to the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Who received it (the citizen or a named relative).
    pub recipient: String,
    /// A photo of the hand-over or an image of the recipient's signature.
    pub proof: AttachmentRef,
}

/// A reservation time slot in local (Asia/Shanghai) time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
}

/// One entry of an item's history (append-only on the server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemEvent {
    pub at: DateTime<Utc>,
    /// Acting user; `None` for the citizen portal / system.
    pub actor_id: Option<i64>,
    pub actor_name: String,
    /// `created` or a `shimin_domain::item::Command::code`.
    pub action: String,
    /// Status after the event.
    #[serde(with = "crate::coded")]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where it happened (a village, a window's site), for the custody chain of delegated cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
}

/// An action on an item, as pushed by a desk. Validated by [`Op::validate`], then decided by
/// `shimin_domain::item::decide` through [`Op::command`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    Claim,
    AcceptReservation {
        slot: Slot,
    },
    RejectReservation {
        reason: String,
    },
    MarkArrived,
    MarkNoShow,
    ReplyConsultation {
        reply: String,
    },
    PassPreReview,
    RequestSupplement {
        missing: Vec<String>,
        note: String,
    },
    /// The missing materials arrived (for a delegated case: the agent brings it back to the
    /// window, `place` saying where).
    Resubmit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place: Option<String>,
    },
    RefuseApplication {
        reason: String,
    },
    /// `to` is a status code of `Status::APPLICATION_STAGES`. Kept a string on purpose, unlike
    /// the record's `status`: a code this build does not know is then one mutation refused
    /// (`invalid_op`, "未知的办理环节") rather than a push batch the server cannot parse, which
    /// would hold up every mutation behind it in the desk's outbox.
    Advance {
        to: String,
    },
    /// A township agent registers a new delegated case (代办件登记) offline; the mutation's
    /// `item_id` is the new case's id, chosen by the desk.
    RegisterCase {
        matter_id: i64,
        applicant: Applicant,
        /// What the citizen asks for, in the agent's words.
        #[serde(default)]
        content: String,
        /// Where the agent took the case (village, 村).
        place: String,
    },
    /// The agent adds a file for one material; its blob must have been uploaded by the agent.
    AddAttachment {
        attachment: AttachmentRef,
    },
    HandOver {
        /// Where the case was handed over (the window's site).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place: Option<String>,
    },
    /// The agent collects a completed case's result from the window.
    CollectResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place: Option<String>,
    },
    /// The agent delivers the result to the citizen; `proof` is a photo or signature image
    /// uploaded by the agent.
    DeliverToCitizen {
        recipient: String,
        place: String,
        proof: AttachmentRef,
    },
    AddNote {
        text: String,
    },
    ReplyComplaint {
        reply: String,
    },
    MarkRead,
    Transfer {
        to_unit_id: i64,
        reason: String,
    },
}

/// Longest free text an op may carry, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;

/// Why an op's payload is unacceptable (before any rule is looked at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOp {
    pub field: &'static str,
    pub message: &'static str,
}

impl Op {
    /// The rule-level command of this op.
    pub fn command(&self) -> Result<Command, InvalidOp> {
        Ok(match self {
            Op::Claim => Command::Claim,
            Op::AcceptReservation { .. } => Command::AcceptReservation,
            Op::RejectReservation { .. } => Command::RejectReservation,
            Op::MarkArrived => Command::MarkArrived,
            Op::MarkNoShow => Command::MarkNoShow,
            Op::ReplyConsultation { .. } => Command::ReplyConsultation,
            Op::PassPreReview => Command::PassPreReview,
            Op::RequestSupplement { .. } => Command::RequestSupplement,
            Op::Resubmit { .. } => Command::Resubmit,
            Op::RefuseApplication { .. } => Command::RefuseApplication,
            Op::Advance { to } => Command::Advance(Status::from_code(to).ok_or(InvalidOp {
                field: "to",
                message: "未知的办理环节",
            })?),
            Op::RegisterCase { .. } => {
                return Err(InvalidOp {
                    field: "type",
                    message: "登记新代办件不是对已有办件的操作",
                })
            }
            Op::AddAttachment { .. } => Command::AddAttachment,
            Op::HandOver { .. } => Command::HandOver,
            Op::CollectResult { .. } => Command::CollectResult,
            Op::DeliverToCitizen { .. } => Command::DeliverToCitizen,
            Op::AddNote { .. } => Command::AddNote,
            Op::ReplyComplaint { .. } => Command::ReplyComplaint,
            Op::MarkRead => Command::MarkRead,
            Op::Transfer { to_unit_id, .. } => Command::Transfer(*to_unit_id),
        })
    }

    /// Checks the payload and names the rule-level command: the op on an existing item that
    /// `shimin_domain::item::decide` judges. [`Op::RegisterCase`] creates an item instead and is
    /// refused here; check it with [`Op::check_payload`].
    pub fn validate(&self) -> Result<Command, InvalidOp> {
        self.check_payload()?;
        self.command()
    }

    /// Checks the payload: required texts present and not too long, slots well-formed,
    /// applicant and attachment references complete.
    pub fn check_payload(&self) -> Result<(), InvalidOp> {
        fn text(field: &'static str, value: &str) -> Result<(), InvalidOp> {
            if value.trim().is_empty() {
                return Err(InvalidOp {
                    field,
                    message: "不能为空",
                });
            }
            if value.chars().count() > MAX_TEXT_CHARS {
                return Err(InvalidOp {
                    field,
                    message: "内容过长",
                });
            }
            Ok(())
        }
        match self {
            Op::AcceptReservation { slot } if slot.end <= slot.start => {
                return Err(InvalidOp {
                    field: "slot",
                    message: "预约时段的结束须晚于开始",
                })
            }
            Op::RejectReservation { reason } | Op::RefuseApplication { reason } => text("reason", reason)?,
            Op::Transfer { reason, .. } => text("reason", reason)?,
            Op::ReplyConsultation { reply } | Op::ReplyComplaint { reply } => text("reply", reply)?,
            Op::AddNote { text: t } => text("text", t)?,
            Op::RegisterCase {
                applicant,
                place,
                content,
                ..
            } => {
                applicant.validate()?;
                text("place", place)?;
                if content.chars().count() > MAX_TEXT_CHARS {
                    return Err(InvalidOp {
                        field: "content",
                        message: "内容过长",
                    });
                }
            }
            Op::AddAttachment { attachment } => attachment.validate()?,
            Op::DeliverToCitizen {
                recipient,
                place,
                proof,
            } => {
                text("recipient", recipient)?;
                text("place", place)?;
                proof.validate()?;
                if !proof.mime.starts_with("image/") {
                    return Err(InvalidOp {
                        field: "proof",
                        message: "送达凭证须为照片或签名图片",
                    });
                }
            }
            Op::HandOver { place } | Op::CollectResult { place } | Op::Resubmit { place } => {
                if let Some(p) = place {
                    text("place", p)?;
                }
            }
            Op::RequestSupplement { missing, note } => {
                if missing.is_empty() || missing.iter().any(|m| m.trim().is_empty()) {
                    return Err(InvalidOp {
                        field: "missing",
                        message: "须逐项列明需补正的材料",
                    });
                }
                if note.chars().count() > MAX_TEXT_CHARS {
                    return Err(InvalidOp {
                        field: "note",
                        message: "内容过长",
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What the op writes into the item's details besides the status change.
    pub fn apply_details(&self, details: &mut ItemDetails) {
        match self {
            Op::AcceptReservation { slot } => details.granted_slot = Some(*slot),
            Op::RejectReservation { reason } | Op::RefuseApplication { reason } => {
                details.reply = Some(reason.clone())
            }
            Op::ReplyConsultation { reply } | Op::ReplyComplaint { reply } => {
                details.reply = Some(reply.clone())
            }
            Op::RequestSupplement { missing, .. } => details.missing_materials = missing.clone(),
            Op::Resubmit { .. } => details.missing_materials.clear(),
            Op::AddAttachment { attachment } => {
                let known = details
                    .attachments
                    .iter()
                    .any(|a| a.hash == attachment.hash && a.material == attachment.material);
                if !known {
                    details.attachments.push(attachment.clone());
                }
            }
            Op::DeliverToCitizen { recipient, proof, .. } => {
                details.delivery = Some(Delivery {
                    recipient: recipient.clone(),
                    proof: proof.clone(),
                })
            }
            _ => {}
        }
    }

    /// The note recorded in the item's history for this op, if any.
    pub fn history_note(&self) -> Option<String> {
        match self {
            Op::RejectReservation { reason }
            | Op::RefuseApplication { reason }
            | Op::Transfer { reason, .. } => Some(reason.clone()),
            Op::ReplyConsultation { reply } | Op::ReplyComplaint { reply } => Some(reply.clone()),
            Op::AddNote { text } => Some(text.clone()),
            Op::RequestSupplement { missing, note } => Some(if note.is_empty() {
                missing.join("；")
            } else {
                format!("{}（{}）", missing.join("；"), note)
            }),
            Op::AcceptReservation { slot } => Some(format!("{} – {}", slot.start, slot.end.time())),
            Op::AddAttachment { attachment } => {
                Some(format!("{}：{}", attachment.material, attachment.file_name))
            }
            Op::DeliverToCitizen { recipient, .. } => Some(format!("签收人：{recipient}")),
            _ => None,
        }
    }

    /// Where the op happened, for the history's custody chain.
    pub fn place(&self) -> Option<String> {
        match self {
            Op::RegisterCase { place, .. } | Op::DeliverToCitizen { place, .. } => Some(place.clone()),
            Op::HandOver { place } | Op::CollectResult { place } | Op::Resubmit { place } => place.clone(),
            _ => None,
        }
    }

    /// The attachments the op refers to: their blobs must reach the server before the op.
    pub fn attachments(&self) -> Vec<&AttachmentRef> {
        match self {
            Op::AddAttachment { attachment } => vec![attachment],
            Op::DeliverToCitizen { proof, .. } => vec![proof],
            _ => Vec::new(),
        }
    }
}

impl Applicant {
    /// Name, ID number and phone by the domain's rules (`shimin_domain::identity`): the
    /// portal's intake and an agent's registration are checked alike, on the desk and again on
    /// the server.
    pub fn validate(&self) -> Result<(), InvalidOp> {
        use shimin_domain::identity::{check_id_number, check_name, check_phone, normalize_id_number};
        let bad = |field, p: shimin_domain::identity::IdentityProblem| InvalidOp {
            field,
            message: p.message_zh(),
        };
        check_name(&self.name).map_err(|p| bad("applicant.name", p))?;
        if self.id_number.chars().count() > 32 {
            return Err(bad(
                "applicant.id_number",
                shimin_domain::identity::IdentityProblem::TooLong,
            ));
        }
        check_id_number(&normalize_id_number(&self.id_number)).map_err(|p| bad("applicant.id_number", p))?;
        if self.phone.chars().count() > 20 {
            return Err(bad(
                "applicant.phone",
                shimin_domain::identity::IdentityProblem::TooLong,
            ));
        }
        check_phone(&self.phone).map_err(|p| bad("applicant.phone", p))?;
        Ok(())
    }
}

/// Length of a SHA-256 in lower-case hex.
pub const HASH_HEX_LEN: usize = 64;

/// Whether `s` is a SHA-256 in lower-case hex (blob addresses).
pub fn is_hash(s: &str) -> bool {
    s.len() == HASH_HEX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl AttachmentRef {
    /// Well-formed: a hash, an accepted type, a size within the limit, a material and a name.
    pub fn validate(&self) -> Result<(), InvalidOp> {
        use shimin_domain::attachment::{FileType, MAX_ATTACHMENT_BYTES};
        let bad = |field, message| Err(InvalidOp { field, message });
        if !is_hash(&self.hash) {
            return bad("attachment.hash", "须为SHA-256（64位小写十六进制）");
        }
        if FileType::from_mime(&self.mime).is_none() {
            return bad("attachment.mime", "仅限 JPEG、PNG 图片或 PDF 文件");
        }
        if self.size == 0 || self.size > MAX_ATTACHMENT_BYTES {
            return bad("attachment.size", "大小超出范围");
        }
        for (field, value) in [
            ("attachment.material", &self.material),
            ("attachment.file_name", &self.file_name),
        ] {
            if value.trim().is_empty() {
                return bad(field, "不能为空");
            }
            if value.chars().count() > 200 {
                return bad(field, "内容过长");
            }
        }
        Ok(())
    }
}

/// Intake: a reservation (在线预约) from the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewReservation {
    pub matter_id: i64,
    pub applicant: Applicant,
    pub requested_slot: Slot,
    #[serde(default)]
    pub content: String,
}

/// Intake: a consultation (在线咨询).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewConsultation {
    /// Either a matter or directly a unit.
    pub matter_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub applicant: Applicant,
    pub title: String,
    pub content: String,
}

/// Intake: an application (网上申报) for pre-review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewApplication {
    pub matter_id: i64,
    pub applicant: Applicant,
    #[serde(default)]
    pub content: String,
    /// Names of the materials the citizen uploaded.
    #[serde(default)]
    pub materials_provided: Vec<String>,
}

/// Intake: a complaint (在线投诉) against a unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewComplaint {
    pub unit_id: i64,
    pub applicant: Applicant,
    pub title: String,
    pub content: String,
}

/// Intake: an evaluation (在线评议) of a finished item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvaluation {
    pub item_id: Uuid,
    pub rating: u8,
    #[serde(default)]
    pub content: String,
}
