//! The server's one error type. Every error leaves as an [`ApiError`] JSON body with a stable
//! code from [`shimin_protocol::codes`]; 5xx bodies are generic and the cause is only logged.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shimin_domain::password::PasswordProblem;
use shimin_protocol::{codes, ApiError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Code listed in `weak_password` details when the new password equals the old one.
pub const PASSWORD_REUSED: &str = "reused";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request body too large")]
    BodyTooLarge,
    #[error("invalid field {field}: {message}")]
    InvalidField { field: String, message: String },
    #[error("protocol unsupported: {0}")]
    ProtocolUnsupported(&'static str),
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("session expired")]
    SessionExpired,
    #[error("bad credentials")]
    BadCredentials,
    #[error("account locked for {retry_after_secs}s")]
    AccountLocked { retry_after_secs: u64 },
    #[error("account disabled")]
    AccountDisabled,
    #[error("password change required")]
    PasswordChangeRequired,
    /// Problem codes: [`PasswordProblem::code`]s or [`PASSWORD_REUSED`].
    #[error("weak password")]
    WeakPassword {
        problems: Vec<PasswordProblem>,
        reused: bool,
    },
    #[error("forbidden")]
    Forbidden,
    /// A supervision case action refused by `shimin_domain::supervision::decide_case`.
    #[error("case action refused: {}", .0.code())]
    CaseRefused(shimin_domain::supervision::CaseRefusal),
    #[error("not found")]
    NotFound,
    #[error("client id registered to another user")]
    ClientMismatch,
    /// A calendar update whose version is not above the stored one.
    #[error("calendar version not above the stored version {stored}")]
    CalendarStale { stored: u32 },
    /// An attachment refused by `shimin_domain::attachment::check`.
    #[error("attachment refused: {}", .0.code())]
    Attachment(shimin_domain::attachment::AttachmentProblem),
    #[error("chunk does not match its hash")]
    ChunkCorrupt,
    /// The virus check found `signature` in the upload; the file is quarantined.
    #[error("attachment infected: {signature}")]
    AttachmentInfected { signature: String },
    #[error("chunk offset is not where the upload stands ({received})")]
    UploadOffset { received: u64 },
    #[error("uploaded content does not match its hash")]
    HashMismatch,
    #[error("sequence gap, expected {expected}")]
    SequenceGap { expected: i64 },
    #[error("database unavailable")]
    Unavailable,
    /// Too many password attempts from one client address.
    #[error("rate limited for {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Every password hasher busy and the queue full.
    #[error("busy")]
    Busy,
    #[error("cursor beyond the newest change ({server_seq})")]
    CursorAhead { server_seq: i64 },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("internal: {0}")]
    Internal(String),
    /// The server cannot start or an admin command cannot run: bad configuration, database
    /// unreachable or refused, a destination that exists. The message (zh-CN) names the cause.
    #[error("{0}")]
    Config(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Error {
        Error::Internal(cause.to_string())
    }

    /// A PostgreSQL deadlock (40P01) or serialization failure (40001): the transaction was
    /// rolled back and may simply run again ([`crate::store::with_retry`]).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Db(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("40P01") | Some("40001"))
            }
            _ => false,
        }
    }

    /// HTTP status and wire body.
    pub fn to_api(&self) -> (StatusCode, ApiError) {
        let e = |code: &str, message: String| ApiError {
            code: code.to_owned(),
            message,
            details: None,
            retry_after_secs: None,
        };
        match self {
            Error::Malformed(m) => (
                StatusCode::BAD_REQUEST,
                e(codes::MALFORMED_REQUEST, format!("请求格式错误：{m}")),
            ),
            Error::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                e(
                    codes::BODY_TOO_LARGE,
                    format!("请求内容过大（上限 {} 字节）", shimin_protocol::MAX_BODY_BYTES),
                ),
            ),
            Error::InvalidField { field, message } => {
                let mut body = e(codes::INVALID_FIELD, format!("{field}：{message}"));
                body.details = Some(serde_json::json!({ "field": field }));
                (StatusCode::UNPROCESSABLE_ENTITY, body)
            }
            Error::ProtocolUnsupported(m) => {
                // Where the desk finds the county's newest release (outside this gate).
                let mut body = e(codes::PROTOCOL_UNSUPPORTED, (*m).to_owned());
                body.details = Some(serde_json::json!({ "update": shimin_protocol::paths::UPDATE_LATEST }));
                (StatusCode::UPGRADE_REQUIRED, body)
            }
            Error::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                e(codes::UNAUTHENTICATED, "未登录或登录已失效，请重新登录".into()),
            ),
            Error::SessionExpired => (
                StatusCode::UNAUTHORIZED,
                e(codes::SESSION_EXPIRED, "长时间未操作，请重新登录".into()),
            ),
            Error::BadCredentials => (
                StatusCode::UNAUTHORIZED,
                e(codes::BAD_CREDENTIALS, "用户名或密码错误".into()),
            ),
            Error::AccountLocked { retry_after_secs } => {
                let mut body = e(
                    codes::ACCOUNT_LOCKED,
                    format!("登录失败次数过多，请 {} 后再试", wait_zh(*retry_after_secs)),
                );
                body.retry_after_secs = Some(*retry_after_secs);
                (StatusCode::LOCKED, body)
            }
            Error::AccountDisabled => (
                StatusCode::FORBIDDEN,
                e(codes::ACCOUNT_DISABLED, "账户已停用，请联系系统管理员".into()),
            ),
            Error::PasswordChangeRequired => (
                StatusCode::FORBIDDEN,
                e(codes::PASSWORD_CHANGE_REQUIRED, "首次登录须先修改密码".into()),
            ),
            Error::WeakPassword { problems, reused } => {
                let mut codes_list: Vec<&str> = problems.iter().map(|p| p.code()).collect();
                let mut messages: Vec<&str> = problems.iter().map(|p| p.message_zh()).collect();
                if *reused {
                    codes_list.push(PASSWORD_REUSED);
                    messages.push("新密码不能与原密码相同");
                }
                let mut body = e(codes::WEAK_PASSWORD, messages.join("；"));
                body.details = Some(serde_json::json!({ "problems": codes_list }));
                (StatusCode::UNPROCESSABLE_ENTITY, body)
            }
            Error::Forbidden => (
                StatusCode::FORBIDDEN,
                e(codes::FORBIDDEN, "无权执行此操作".into()),
            ),
            Error::NotFound => (StatusCode::NOT_FOUND, e(codes::NOT_FOUND, "资源不存在".into())),
            Error::CaseRefused(r) => {
                use shimin_domain::supervision::CaseRefusal;
                let status = match r {
                    CaseRefusal::NotPermitted => StatusCode::FORBIDDEN,
                    CaseRefusal::InvalidStage | CaseRefusal::NotAppealable => StatusCode::CONFLICT,
                };
                (status, e(r.code(), r.message_zh().into()))
            }
            Error::ClientMismatch => (
                StatusCode::CONFLICT,
                e(
                    codes::CLIENT_MISMATCH,
                    "此客户端已绑定其他用户，请重新安装或联系系统管理员".into(),
                ),
            ),
            Error::CalendarStale { stored } => {
                let mut body = e(
                    codes::CALENDAR_STALE,
                    format!("日历版本须高于服务器现有版本（第{stored}版）"),
                );
                body.details = Some(serde_json::json!({ "stored_version": stored }));
                (StatusCode::CONFLICT, body)
            }
            Error::Attachment(problem) => {
                use shimin_domain::attachment::AttachmentProblem as P;
                let status = match problem {
                    P::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    P::UnsupportedContent | P::TypeMismatch { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    P::Empty => StatusCode::UNPROCESSABLE_ENTITY,
                };
                (status, e(problem.code(), problem.message_zh()))
            }
            Error::ChunkCorrupt => (
                StatusCode::UNPROCESSABLE_ENTITY,
                e(
                    codes::CHUNK_CORRUPT,
                    "分块校验失败（传输中断或数据损坏），未保存，请从同一位置重传".into(),
                ),
            ),
            Error::UploadOffset { received } => {
                let mut body = e(
                    codes::UPLOAD_OFFSET,
                    format!("分块位置不符，服务器已收到 {received} 字节，请从此处继续"),
                );
                body.details = Some(serde_json::json!({ "received": received }));
                (StatusCode::CONFLICT, body)
            }
            Error::AttachmentInfected { signature } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                e(
                    codes::ATTACHMENT_INFECTED,
                    format!("文件未通过病毒检查（{signature}），已隔离，不能作为材料使用"),
                ),
            ),
            Error::HashMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                e(
                    codes::HASH_MISMATCH,
                    "文件内容与其校验值不符（上传不完整或已损坏），请重新上传".into(),
                ),
            ),
            Error::SequenceGap { expected } => {
                let mut body = e(codes::SEQUENCE_GAP, format!("提交序号不连续，应为 {expected}"));
                body.details = Some(serde_json::json!({ "expected": expected }));
                (StatusCode::CONFLICT, body)
            }
            Error::RateLimited { retry_after_secs } => {
                let mut body = e(
                    codes::RATE_LIMITED,
                    format!("尝试过于频繁，请 {retry_after_secs} 秒后再试"),
                );
                body.retry_after_secs = Some(*retry_after_secs);
                (StatusCode::TOO_MANY_REQUESTS, body)
            }
            Error::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                e(codes::METHOD_NOT_ALLOWED, "此地址不支持该请求方法".into()),
            ),
            Error::Busy => {
                let mut body = e(codes::BUSY, "服务器繁忙，请稍后再试".into());
                body.retry_after_secs = Some(1);
                (StatusCode::SERVICE_UNAVAILABLE, body)
            }
            Error::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                e(codes::UNAVAILABLE, "服务器暂时无法访问数据库，请稍后再试".into()),
            ),
            Error::CursorAhead { server_seq } => {
                let mut body = e(
                    codes::CURSOR_AHEAD,
                    "服务器数据已恢复到较早的状态，将重新同步（未提交的操作会保留）".into(),
                );
                body.details = Some(serde_json::json!({ "server_seq": server_seq }));
                (StatusCode::CONFLICT, body)
            }
            Error::Db(_) | Error::Migrate(_) | Error::Internal(_) | Error::Config(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                e(codes::INTERNAL, "服务器内部错误，请稍后再试".into()),
            ),
        }
    }
}

/// A wait in words: seconds under two minutes, minutes (rounded up) beyond.
fn wait_zh(secs: u64) -> String {
    if secs < 120 {
        format!("{secs} 秒")
    } else {
        format!("{} 分钟", secs.div_ceil(60))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, body) = self.to_api();
        if matches!(self, Error::Db(_) | Error::Unavailable | Error::Migrate(_)) {
            crate::metrics::database_error();
        }
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        (status, axum::Json(body)).into_response()
    }
}
