//! Password rule R-PWD (§17): 5–20 characters combining letters, digits and symbols.
//!
//! The rule is checked on the server (authoritative, on every change) and in the desk's
//! password form (live feedback); both call [`check_password`].

/// One way a candidate password breaks R-PWD. A candidate may break several at once; the
/// desk lists all of them so the clerk fixes the password in one go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than [`MIN_LEN`] characters.
    TooShort,
    /// More than [`MAX_LEN`] characters.
    TooLong,
    /// No letter (a–z, A–Z).
    NoLetter,
    /// No digit (0–9).
    NoDigit,
    /// No symbol (printable ASCII that is neither letter nor digit, e.g. `!@#_-`).
    NoSymbol,
    /// Whitespace, control or non-ASCII characters, which counters' keyboards and input
    /// methods make ambiguous.
    ForbiddenCharacter,
}

impl PasswordProblem {
    /// Every problem, in the order they are reported.
    pub const ALL: [PasswordProblem; 6] = [
        Self::TooShort,
        Self::TooLong,
        Self::NoLetter,
        Self::NoDigit,
        Self::NoSymbol,
        Self::ForbiddenCharacter,
    ];

    /// Stable code for the wire and for UI branching.
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::NoLetter => "no_letter",
            Self::NoDigit => "no_digit",
            Self::NoSymbol => "no_symbol",
            Self::ForbiddenCharacter => "forbidden_character",
        }
    }

    /// The problem in the clerk's words (zh-CN).
    pub fn message_zh(self) -> &'static str {
        match self {
            Self::TooShort => "密码至少5位",
            Self::TooLong => "密码最多20位",
            Self::NoLetter => "密码须包含字母",
            Self::NoDigit => "密码须包含数字",
            Self::NoSymbol => "密码须包含符号（如 !@#_-）",
            Self::ForbiddenCharacter => "密码不能包含空格、中文或其他非键盘字符",
        }
    }
}

/// Shortest allowed password, in characters.
pub const MIN_LEN: usize = 5;
/// Longest allowed password, in characters.
pub const MAX_LEN: usize = 20;

/// Checks a candidate password against R-PWD; `Ok(())` or every problem found.
pub fn check_password(candidate: &str) -> Result<(), Vec<PasswordProblem>> {
    let mut problems = Vec::new();
    let len = candidate.chars().count();
    if len < MIN_LEN {
        problems.push(PasswordProblem::TooShort);
    }
    if len > MAX_LEN {
        problems.push(PasswordProblem::TooLong);
    }
    if !candidate.chars().any(|c| c.is_ascii_alphabetic()) {
        problems.push(PasswordProblem::NoLetter);
    }
    if !candidate.chars().any(|c| c.is_ascii_digit()) {
        problems.push(PasswordProblem::NoDigit);
    }
    if !candidate.chars().any(|c| c.is_ascii_punctuation()) {
        problems.push(PasswordProblem::NoSymbol);
    }
    if candidate.chars().any(|c| !c.is_ascii_graphic()) {
        problems.push(PasswordProblem::ForbiddenCharacter);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
