//! Citizens' identifying data as the county's systems accept it (issue 16, finding 7): the
//! server is the authority and checks what the desk and the portal check, with these rules.
//!
//! - ID numbers: a resident ID number (居民身份证号, GB 11643: 17 digits, a birth date, a check
//!   character) or, for companies and organisations, a unified social credit code (统一社会信用
//!   代码, GB 32100: 18 characters of its alphabet with a check character).
//! - Phones: 7–15 digits, optionally a leading `+`, hyphens and spaces between groups.
//! - Names: 1–50 characters, no control characters, no markup characters (`<` `>`).

/// A citizen's number that lists and screens show masked for every role (1304**********583X,
/// 138****5678); showing it in full is a deliberate act (显示完整号码) that leaves an audit
/// entry (R-SEC, R-AUD). Names stay readable: a counter calls people by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonalField {
    /// 身份证号 or 统一社会信用代码
    IdNumber,
    /// 联系电话
    Phone,
}

impl PersonalField {
    pub const ALL: [PersonalField; 2] = [PersonalField::IdNumber, PersonalField::Phone];

    pub fn code(self) -> &'static str {
        match self {
            PersonalField::IdNumber => "id_number",
            PersonalField::Phone => "phone",
        }
    }

    pub fn from_code(code: &str) -> Option<PersonalField> {
        PersonalField::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// What kind of number an ID number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// 居民身份证号
    Resident,
    /// 统一社会信用代码
    CreditCode,
}

/// Why an identifying value is refused. Codes are stable; messages are shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityProblem {
    Empty,
    TooLong,
    IdLength,
    IdCharacters,
    IdBirthDate,
    IdCheckCharacter,
    PhoneCharacters,
    PhoneLength,
    NameCharacters,
}

impl IdentityProblem {
    pub fn code(self) -> &'static str {
        match self {
            IdentityProblem::Empty => "empty",
            IdentityProblem::TooLong => "too_long",
            IdentityProblem::IdLength => "id_length",
            IdentityProblem::IdCharacters => "id_characters",
            IdentityProblem::IdBirthDate => "id_birth_date",
            IdentityProblem::IdCheckCharacter => "id_check_character",
            IdentityProblem::PhoneCharacters => "phone_characters",
            IdentityProblem::PhoneLength => "phone_length",
            IdentityProblem::NameCharacters => "name_characters",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            IdentityProblem::Empty => "不能为空",
            IdentityProblem::TooLong => "内容过长",
            IdentityProblem::IdLength => "证件号码应为18位",
            IdentityProblem::IdCharacters => {
                "身份证号前17位应为数字、最后一位为数字或X（统一社会信用代码为数字和大写字母）"
            }
            IdentityProblem::IdBirthDate => "身份证号中的出生日期不存在",
            IdentityProblem::IdCheckCharacter => "证件号码校验位不符，请核对是否录错",
            IdentityProblem::PhoneCharacters => "联系电话只能包含数字（可带区号连字符或国际区号+）",
            IdentityProblem::PhoneLength => "联系电话位数不对（7至15位数字）",
            IdentityProblem::NameCharacters => "姓名含有不允许的字符",
        }
    }
}

const RESIDENT_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// The check character of the first 17 digits of a resident ID number.
pub fn resident_check_char(first17: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.chars().zip(RESIDENT_WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    (first17.chars().count() == 17).then(|| RESIDENT_CHECK[(sum % 11) as usize])
}

/// The check character of the first 17 characters of a unified social credit code.
pub fn credit_check_char(first17: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.chars().zip(CREDIT_WEIGHTS) {
        sum += CREDIT_ALPHABET.find(c)? as u32 * w;
    }
    let check = (31 - sum % 31) % 31;
    (first17.chars().count() == 17).then(|| CREDIT_ALPHABET.as_bytes()[check as usize] as char)
}

/// An ID number as typed: spaces removed, letters upper-cased.
pub fn normalize_id_number(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Checks an ID number (already normalised).
pub fn check_id_number(s: &str) -> Result<IdKind, IdentityProblem> {
    if s.is_empty() {
        return Err(IdentityProblem::Empty);
    }
    if s.chars().count() != 18 {
        return Err(IdentityProblem::IdLength);
    }
    let (first17, last) = s.split_at(17);
    if first17.chars().all(|c| c.is_ascii_digit())
        && (last == "X" || last.chars().all(|c| c.is_ascii_digit()))
    {
        let birth = &first17[6..14];
        let valid_date = chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_ok_and(|d| {
            use chrono::Datelike;
            d.year() >= 1900
        });
        if !valid_date {
            return Err(IdentityProblem::IdBirthDate);
        }
        return if resident_check_char(first17).map(String::from).as_deref() == Some(last) {
            Ok(IdKind::Resident)
        } else {
            Err(IdentityProblem::IdCheckCharacter)
        };
    }
    if s.chars().all(|c| CREDIT_ALPHABET.contains(c)) {
        return if credit_check_char(first17).map(String::from).as_deref() == Some(last) {
            Ok(IdKind::CreditCode)
        } else {
            Err(IdentityProblem::IdCheckCharacter)
        };
    }
    Err(IdentityProblem::IdCharacters)
}

/// Checks a phone number as typed.
pub fn check_phone(s: &str) -> Result<(), IdentityProblem> {
    let s = s.trim();
    if s.is_empty() {
        return Err(IdentityProblem::Empty);
    }
    let body = s.strip_prefix('+').unwrap_or(s);
    if !body.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ') {
        return Err(IdentityProblem::PhoneCharacters);
    }
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if !(7..=15).contains(&digits) {
        return Err(IdentityProblem::PhoneLength);
    }
    Ok(())
}

/// Checks a person's name.
pub fn check_name(s: &str) -> Result<(), IdentityProblem> {
    let s = s.trim();
    if s.is_empty() {
        return Err(IdentityProblem::Empty);
    }
    if s.chars().count() > 50 {
        return Err(IdentityProblem::TooLong);
    }
    if s.chars().any(|c| c.is_control() || c == '<' || c == '>') {
        return Err(IdentityProblem::NameCharacters);
    }
    Ok(())
}

/// A resident ID number from its first 17 digits (the check character appended): test data and
/// the demo county's citizens.
pub fn resident_id(first17: &str) -> String {
    match resident_check_char(first17) {
        Some(c) => format!("{first17}{c}"),
        None => first17.to_owned(),
    }
}
