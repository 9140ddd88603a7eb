//! Files an agent captures for a case (代办材料): judged by content with the domain's rule,
//! photos downscaled to [`MAX_PHOTO_EDGE`] and re-encoded as JPEG. Re-encoding writes pixels
//! only, so every piece of metadata of the original (EXIF, location included) is gone; the
//! EXIF orientation is applied to the pixels first, so the document stays upright.

use crate::{Error, Result};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader};
use sha2::{Digest, Sha256};
use shimin_domain::attachment::{self, FileType, MAX_PHOTO_EDGE};
use shimin_protocol::AttachmentRef;

/// JPEG quality of stored photos: documents stay readable at a fraction of the size.
const JPEG_QUALITY: u8 = 85;

/// A file ready to store: its type (by content), bytes and address.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub file_type: FileType,
    pub bytes: Vec<u8>,
    /// SHA-256, lower-case hex.
    pub hash: String,
}

impl Prepared {
    pub fn reference(&self, file_name: &str, material: &str) -> AttachmentRef {
        AttachmentRef {
            hash: self.hash.clone(),
            size: self.bytes.len() as u64,
            mime: self.file_type.mime().to_owned(),
            file_name: file_name.to_owned(),
            material: material.to_owned(),
        }
    }
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::config::hex(&Sha256::digest(bytes))
}

/// Checks `bytes` (named `file_name` by the person who picked it) and prepares them for
/// storing. CPU-heavy for photos: call from a blocking thread.
pub fn prepare(file_name: &str, bytes: Vec<u8>) -> Result<Prepared> {
    let claimed = FileType::from_file_name(file_name);
    let head = &bytes[..bytes.len().min(64)];
    let file_type = attachment::check(bytes.len() as u64, head, claimed).map_err(Error::Attachment)?;
    let (file_type, bytes) = if file_type.is_photo() {
        (FileType::Jpeg, downscale(&bytes)?)
    } else {
        (file_type, bytes)
    };
    // The processed file obeys the rule too (a re-encoded photo can in principle grow).
    attachment::check(bytes.len() as u64, &bytes[..bytes.len().min(64)], Some(file_type))
        .map_err(Error::Attachment)?;
    Ok(Prepared {
        file_type,
        hash: sha256_hex(&bytes),
        bytes,
    })
}

fn downscale(original: &[u8]) -> Result<Vec<u8>> {
    let unreadable = |e: image::ImageError| Error::ImageUnreadable(e.to_string());
    let mut decoder = ImageReader::new(std::io::Cursor::new(original))
        .with_guessed_format()?
        .into_decoder()
        .map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    img.apply_orientation(orientation);
    if img.width().max(img.height()) > MAX_PHOTO_EDGE {
        img = img.resize(
            MAX_PHOTO_EDGE,
            MAX_PHOTO_EDGE,
            image::imageops::FilterType::Triangle,
        );
    }
    let rgb = img.to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(unreadable)?;
    Ok(out)
}
