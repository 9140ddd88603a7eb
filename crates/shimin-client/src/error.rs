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
    /// The endpoint's certificate was refused (expired, for another host, from a CA this desk
    /// does not trust): nothing was sent to it.
    #[error("{endpoint}：{}", problem.message_zh())]
    Certificate { endpoint: String, problem: CertProblem },
    /// An `http://` endpoint that the machine-wide settings do not mark as intranet-plain:
    /// nothing was sent to it.
    #[error("{endpoint}：拒绝以明文 HTTP 连接 {url}（只有管理员标记为内网明文的地址才可用 HTTP）")]
    PlainHttpRefused { endpoint: String, url: String },
    /// A desk update was refused (bad signature, broken download, bad key): nothing installed.
    #[error("{message}")]
    UpdateRefused { code: &'static str, message: String },
    /// The county CA bundle of the configuration cannot be used.
    #[error("县级根证书无法使用：{0}")]
    CaBundle(String),
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
            Error::Certificate { problem, .. } => problem.code(),
            Error::PlainHttpRefused { .. } => "plain_http_refused",
            Error::CaBundle(_) => "ca_bundle_invalid",
            Error::UpdateRefused { code, .. } => code,
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

    /// Whether the failure is "could not use this endpoint" (as opposed to an answer): the
    /// desk moves on to its next endpoint. A refused certificate or plain address counts (the
    /// endpoint is unusable) but is never silent: see [`Error::is_transport_security`].
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Error::Offline { .. }
                | Error::AllEndpointsDown { .. }
                | Error::Certificate { .. }
                | Error::PlainHttpRefused { .. }
        )
    }

    /// A refusal for transport security (certificate, plain HTTP): the status bar shows it.
    pub fn is_transport_security(&self) -> bool {
        matches!(self, Error::Certificate { .. } | Error::PlainHttpRefused { .. })
    }
}

/// What was wrong with a server's certificate (R-NET).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertProblem {
    /// Expired, or not valid yet (a desk clock far off shows this too).
    Expired,
    /// Issued for another host name.
    WrongHost,
    /// Not issued by a CA this desk trusts (system roots and the county CA).
    UnknownCa,
    /// Any other fault (bad signature, wrong purpose, revoked, malformed).
    Invalid,
}

impl CertProblem {
    pub fn code(self) -> &'static str {
        match self {
            CertProblem::Expired => "tls_expired",
            CertProblem::WrongHost => "tls_wrong_host",
            CertProblem::UnknownCa => "tls_unknown_ca",
            CertProblem::Invalid => "tls_bad_certificate",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            CertProblem::Expired => "服务器证书已过期或尚未生效（请核对本机时间，或请信息中心更新证书）",
            CertProblem::WrongHost => "服务器证书与所连接的地址不符（可能连到了假冒的服务器），已拒绝连接",
            CertProblem::UnknownCa => {
                "服务器证书不是受信任的机构签发的（本机未安装县级根证书，或连到了假冒的服务器），已拒绝连接"
            }
            CertProblem::Invalid => "服务器证书无效，已拒绝连接",
        }
    }

    /// The problem a rustls error stands for, if it is about the certificate.
    pub fn of(e: &rustls::Error) -> Option<CertProblem> {
        use rustls::CertificateError as C;
        let rustls::Error::InvalidCertificate(c) = e else {
            return None;
        };
        Some(match c {
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
                CertProblem::Expired
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => CertProblem::WrongHost,
            C::UnknownIssuer => CertProblem::UnknownCa,
            _ => CertProblem::Invalid,
        })
    }

    /// Looks through an error's causes (reqwest → hyper → io::Error → rustls) for a refused
    /// certificate.
    pub fn find(e: &(dyn std::error::Error + 'static)) -> Option<CertProblem> {
        let mut cause = Some(e);
        while let Some(err) = cause {
            if let Some(r) = err.downcast_ref::<rustls::Error>() {
                return CertProblem::of(r);
            }
            // io::Error's `source` skips the error it wraps (and connectors wrap io::Errors in
            // io::Errors): step into it instead.
            cause = match err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => err.source(),
            };
        }
        None
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
