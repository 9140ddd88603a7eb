//! Attachments: accepted by content, never by name.

use shimin_domain::attachment::{check, AttachmentProblem as P, FileType as T, MAX_ATTACHMENT_BYTES};

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];
const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
];
const PDF: &[u8] = b"%PDF-1.7\n%\xE2\xE3";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0";

/// (size, first bytes, type the name claims, verdict)
type Case = (u64, &'static [u8], Option<T>, Result<T, P>);

#[test]
fn files_are_judged_by_content_and_size() {
    let table: &[Case] = &[
        (1000, JPEG, Some(T::Jpeg), Ok(T::Jpeg)),
        (1000, JPEG, None, Ok(T::Jpeg)),
        (1000, PNG, Some(T::Png), Ok(T::Png)),
        (1000, PDF, Some(T::Pdf), Ok(T::Pdf)),
        // Named one thing, is another.
        (
            1000,
            PNG,
            Some(T::Pdf),
            Err(P::TypeMismatch {
                claimed: T::Pdf,
                actual: T::Png,
            }),
        ),
        (
            1000,
            PDF,
            Some(T::Jpeg),
            Err(P::TypeMismatch {
                claimed: T::Jpeg,
                actual: T::Pdf,
            }),
        ),
        // Not a document at all, whatever the name says.
        (1000, EXE, Some(T::Jpeg), Err(P::UnsupportedContent)),
        (1000, b"plain text", None, Err(P::UnsupportedContent)),
        (0, b"", Some(T::Pdf), Err(P::Empty)),
        (MAX_ATTACHMENT_BYTES, PDF, Some(T::Pdf), Ok(T::Pdf)),
        (
            MAX_ATTACHMENT_BYTES + 1,
            PDF,
            Some(T::Pdf),
            Err(P::TooLarge {
                size: MAX_ATTACHMENT_BYTES + 1,
            }),
        ),
    ];
    for (size, head, claimed, want) in table {
        assert_eq!(check(*size, head, *claimed), *want, "{size} {claimed:?}");
    }
}

#[test]
fn names_claim_types_and_messages_say_what_is_wrong() {
    assert_eq!(T::from_file_name("IMG_0001.JPG"), Some(T::Jpeg));
    assert_eq!(T::from_file_name("扫描件.jpeg"), Some(T::Jpeg));
    assert_eq!(T::from_file_name("户口本.pdf"), Some(T::Pdf));
    assert_eq!(T::from_file_name("照片"), None);
    assert_eq!(T::from_file_name("a.docx"), None);
    let m = P::TypeMismatch {
        claimed: T::Pdf,
        actual: T::Png,
    }
    .message_zh();
    assert_eq!(m, "文件内容与类型不符：标称为PDF文件，实际内容为PNG图片");
    assert!(P::TooLarge {
        size: 21 * 1024 * 1024
    }
    .message_zh()
    .contains("21.0 MB"));
    assert_eq!(P::TooLarge { size: 1 }.code(), "attachment_too_large");
}
