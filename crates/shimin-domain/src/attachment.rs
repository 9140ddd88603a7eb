//! Attachments of delegated cases (代办材料): which files are accepted, judged by their content
//! (magic bytes), never by their names. The desk checks a file when it is captured and the
//! server checks it again when the upload completes, with this one rule.

/// Largest attachment, in bytes (after a photo has been downscaled).
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;
/// Longest edge of a photo as stored: enough to read a document, small enough for a village
/// uplink.
pub const MAX_PHOTO_EDGE: u32 = 2048;

/// The file types a case may carry: photos of documents and scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    Jpeg,
    Png,
    Pdf,
}

impl FileType {
    pub const ALL: [FileType; 3] = [FileType::Jpeg, FileType::Png, FileType::Pdf];

    pub fn mime(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Pdf => "application/pdf",
        }
    }

    pub fn from_mime(mime: &str) -> Option<FileType> {
        FileType::ALL.into_iter().find(|t| t.mime() == mime)
    }

    /// The type a file name's extension claims (what the person picking the file believes).
    pub fn from_file_name(name: &str) -> Option<FileType> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "jpg" | "jpeg" => Some(FileType::Jpeg),
            "png" => Some(FileType::Png),
            "pdf" => Some(FileType::Pdf),
            _ => None,
        }
    }

    /// Photos are downscaled and re-encoded (which also drops their metadata, location included).
    pub fn is_photo(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            FileType::Jpeg => "JPEG图片",
            FileType::Png => "PNG图片",
            FileType::Pdf => "PDF文件",
        }
    }
}

/// The type of a file's content, from its first bytes; `None` for anything not accepted.
pub fn sniff(head: &[u8]) -> Option<FileType> {
    let t = infer::get(head)?;
    FileType::from_mime(t.mime_type())
}

/// Why a file is not accepted as an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentProblem {
    Empty,
    TooLarge {
        size: u64,
    },
    /// The content is none of the accepted types.
    UnsupportedContent,
    /// The content is of another type than the file claims (by name or declared type).
    TypeMismatch {
        claimed: FileType,
        actual: FileType,
    },
}

impl AttachmentProblem {
    pub fn code(self) -> &'static str {
        match self {
            AttachmentProblem::Empty => "attachment_empty",
            AttachmentProblem::TooLarge { .. } => "attachment_too_large",
            AttachmentProblem::UnsupportedContent => "attachment_unsupported",
            AttachmentProblem::TypeMismatch { .. } => "attachment_type_mismatch",
        }
    }

    pub fn message_zh(self) -> String {
        match self {
            AttachmentProblem::Empty => "文件为空".to_owned(),
            AttachmentProblem::TooLarge { size } => format!(
                "文件过大（{:.1} MB），单个材料不能超过 {} MB",
                size as f64 / (1024.0 * 1024.0),
                MAX_ATTACHMENT_BYTES / (1024 * 1024)
            ),
            AttachmentProblem::UnsupportedContent => {
                "文件内容不是可接受的类型（仅限 JPEG、PNG 图片或 PDF 文件）".to_owned()
            }
            AttachmentProblem::TypeMismatch { claimed, actual } => format!(
                "文件内容与类型不符：标称为{}，实际内容为{}",
                claimed.name_zh(),
                actual.name_zh()
            ),
        }
    }
}

/// Checks a file of `size` bytes starting with `head` (at least the first 64 bytes, or all of a
/// shorter file) that claims to be `claimed` (from its name or declared type; `None` when it
/// claims nothing). Returns the content's type.
pub fn check(size: u64, head: &[u8], claimed: Option<FileType>) -> Result<FileType, AttachmentProblem> {
    if size == 0 {
        return Err(AttachmentProblem::Empty);
    }
    if size > MAX_ATTACHMENT_BYTES {
        return Err(AttachmentProblem::TooLarge { size });
    }
    let actual = sniff(head).ok_or(AttachmentProblem::UnsupportedContent)?;
    match claimed {
        Some(claimed) if claimed != actual => Err(AttachmentProblem::TypeMismatch { claimed, actual }),
        _ => Ok(actual),
    }
}
