//! The one error shape the UI sees ([`DeskError`], `DeskError` in ui/src/api/contract.ts).

use serde::Serialize;
use shimin_client::Error as ClientError;
use shimin_domain::password::PasswordProblem;

/// A failed command: a stable code to branch on and a Chinese message to show.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeskError {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

pub type CmdResult<T> = Result<T, DeskError>;

impl DeskError {
    pub fn new(code: &str, message: impl Into<String>) -> DeskError {
        DeskError {
            code: code.to_owned(),
            message: message.into(),
            retry_after_secs: None,
            problems: Vec::new(),
        }
    }

    pub fn not_logged_in() -> DeskError {
        DeskError::new("not_logged_in", "尚未登录")
    }
}

impl std::fmt::Display for DeskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for DeskError {}

/// Chinese descriptions of the broken password rules, from their codes.
pub fn password_problems(codes: &[&str]) -> Vec<String> {
    PasswordProblem::ALL
        .iter()
        .filter(|p| codes.contains(&p.code()))
        .map(|p| p.message_zh().to_owned())
        .collect()
}

impl From<ClientError> for DeskError {
    fn from(e: ClientError) -> DeskError {
        let mut out = DeskError::new(e.code(), e.to_string());
        match &e {
            ClientError::Api { error, .. } => {
                // The server's message is already written for the clerk.
                out.message = error.message.clone();
                out.retry_after_secs = error.retry_after_secs;
                if error.code == shimin_protocol::codes::WEAK_PASSWORD {
                    // One sentence per broken rule, including the server-only ones (reuse).
                    out.problems = error.message.split('；').map(str::to_owned).collect();
                }
            }
            ClientError::WeakPassword { problems } => out.problems = password_problems(problems),
            _ => {}
        }
        out
    }
}

impl From<keyring::Error> for DeskError {
    fn from(e: keyring::Error) -> DeskError {
        DeskError::new(
            "keyring",
            format!(
                "无法使用系统密钥环（保存登录凭据与缓存密钥）：{e}。请确认已登录桌面会话且密钥环已解锁。"
            ),
        )
    }
}
