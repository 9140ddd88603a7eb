//! The crate's one error type. The app branches on [`Error::code`], never on messages.

use shimin_protocol::ApiError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cache file could not be opened with this key: wrong key, or not a (valid)
    /// database. The file is left untouched.
    #[error("本地缓存无法打开：密钥错误或文件已损坏")]
    CacheKeyOrCorrupt,
    /// Any other fault of the local cache.
    #[error("本地缓存错误: {0}")]
    Cache(#[from] sqlx::Error),
    #[error("本地缓存升级失败: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The server answered with an error body.
    #[error("服务器拒绝请求（{status}）：{}", error.message)]
    Api { status: u16, error: ApiError },
    /// One endpoint could not be reached (connect failure, timeout, connection cut).
    #[error("无法连接 {endpoint}: {message}")]
    Offline { endpoint: String, message: String },
    /// No endpoint could be reached.
    #[error("所有服务器地址均无法连接（{}）: {last_error}", tried.join("、"))]
    AllEndpointsDown { tried: Vec<String>, last_error: String },
    /// The server sent something this client does not understand.
    #[error("服务器应答无法解析: {0}")]
    Protocol(String),
    #[error("尚未登录")]
    NotLoggedIn,
    /// The account must change its issued password before doing anything else (R-PWD).
    #[error("首次登录须先修改密码")]
    PasswordChangeRequired,
    /// The new password breaks R-PWD; `problems` are `PasswordProblem` codes.
    #[error("新密码不符合要求")]
    WeakPassword { problems: Vec<&'static str> },
    /// The op's payload is invalid (before any rule is looked at).
    #[error("{field}: {message}")]
    InvalidOp {
        field: &'static str,
        message: &'static str,
    },
    /// The rules refuse the action on the current local view (`code` is a `Refusal` code).
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: &'static str,
    },
    #[error("办件不存在: {0}")]
    ItemNotFound(uuid::Uuid),
    /// The logged-in user's role code is unknown to this build.
    #[error("未知的角色: {0}")]
    UnknownRole(String),
    /// Another user's actions are still waiting to be sent from this desk: logging in as a
    /// different user would orphan them.
    #[error("本机还有 {pending} 条其他用户的操作尚未同步")]
    OtherUserPending { pending: u64 },
    #[error("文件错误: {0}")]
    Io(#[from] std::io::Error),
    /// A captured file is not accepted (empty, too large, wrong type, content not matching
    /// its name); nothing was stored.
    #[error("{}", .0.message_zh())]
    Attachment(shimin_domain::attachment::AttachmentProblem),
    /// A photo claims to be an image but cannot be decoded.
    #[error("图片无法读取（文件可能已损坏）: {0}")]
    ImageUnreadable(String),
    /// An attachment is neither in the cache nor obtainable from the server.
    #[error("附件不存在或无权查看")]
    AttachmentNotFound,
    /// A statutory clock could not be computed (e.g. a completion clock without promised limit).
    #[error("办理时限无法计算: {0}")]
    Clock(#[from] shimin_domain::clock::ClockError),
}

impl Error {
    /// A stable code for the UI; server error codes pass through unchanged.
    pub fn code(&self) -> &str {
        match self {
            Error::CacheKeyOrCorrupt => "cache_key_or_corrupt",
            Error::Cache(_) | Error::Migrate(_) => "cache",
            Error::Api { error, .. } => &error.code,
            Error::Offline { .. } => "offline",
            Error::AllEndpointsDown { .. } => "all_endpoints_down",
            Error::Protocol(_) => "protocol",
            Error::NotLoggedIn => "not_logged_in",
            Error::PasswordChangeRequired => shimin_protocol::codes::PASSWORD_CHANGE_REQUIRED,
            Error::WeakPassword { .. } => shimin_protocol::codes::WEAK_PASSWORD,
            Error::InvalidOp { .. } => shimin_protocol::codes::INVALID_FIELD,
            Error::Refused { code, .. } => code,
            Error::ItemNotFound(_) => shimin_protocol::codes::NOT_FOUND,
            Error::UnknownRole(_) => "unknown_role",
            Error::OtherUserPending { .. } => "other_user_pending",
            Error::Io(_) => "io",
            Error::Attachment(p) => p.code(),
            Error::ImageUnreadable(_) => "image_unreadable",
            Error::AttachmentNotFound => shimin_protocol::codes::NOT_FOUND,
            Error::Clock(_) => "clock",
        }
    }

    /// Whether the failure is "could not reach the server" (as opposed to an answer).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Offline { .. } | Error::AllEndpointsDown { .. })
    }
}

impl From<shimin_protocol::InvalidOp> for Error {
    fn from(e: shimin_protocol::InvalidOp) -> Self {
        Error::InvalidOp {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<shimin_domain::item::Refusal> for Error {
    fn from(r: shimin_domain::item::Refusal) -> Self {
        Error::Refused {
            code: r.code(),
            message: r.message_zh(),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Protocol(e.to_string())
    }
}
