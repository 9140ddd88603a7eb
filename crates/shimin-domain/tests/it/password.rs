//! R-PWD: 5–20 characters combining letters, digits and symbols.

use shimin_domain::password::{check_password, PasswordProblem as P};

fn check(candidate: &str, expected: Result<(), Vec<P>>) {
    assert_eq!(check_password(candidate), expected, "candidate {candidate:?}");
}

#[test]
fn password_rule_table() {
    check("a1#bc", Ok(()));
    check("Demo#2026", Ok(()));
    check("abcdefghij1234567_#Z", Ok(())); // exactly 20
    check("a1#b", Err(vec![P::TooShort]));
    check("abcdefghij1234567_#Zx", Err(vec![P::TooLong]));
    check("12345#", Err(vec![P::NoLetter]));
    check("abcde#", Err(vec![P::NoDigit]));
    check("abc123", Err(vec![P::NoSymbol]));
    check("", Err(vec![P::TooShort, P::NoLetter, P::NoDigit, P::NoSymbol]));
    check("ab 12#", Err(vec![P::ForbiddenCharacter]));
    check("密码abc1#", Err(vec![P::ForbiddenCharacter]));
}

#[test]
fn every_problem_has_code_and_message() {
    for p in [
        P::TooShort,
        P::TooLong,
        P::NoLetter,
        P::NoDigit,
        P::NoSymbol,
        P::ForbiddenCharacter,
    ] {
        assert!(!p.code().is_empty());
        assert!(p.message_zh().starts_with("密码"));
    }
}
