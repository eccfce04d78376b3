//! The user's avatar: a small JPEG, PNG or WebP image kept next to app.yaml.
//!
//! It is stored as raw image bytes in `<dir of app.yaml>/avatar.jpeg`, the file name
//! Rackscope uses, so existing config folders keep their avatar. Unlike the reference, the
//! type served back is read from the bytes (a PNG is served as `image/png`), and stored
//! content that is not one of the three image types is never served.
//!
//! Uploads are data URLs. Every check (docs/architecture.md, compatibility C7) runs before anything is written, and
//! the write is atomic, so a refused upload leaves the stored avatar as it was.

use std::path::{Path, PathBuf};

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

/// Largest accepted image, in decoded bytes (512 KiB).
pub const MAX_AVATAR_BYTES: usize = 512 * 1024;

/// File name of the stored avatar, in the folder of app.yaml.
pub const AVATAR_FILE: &str = "avatar.jpeg";

/// Standard base64 that accepts the payload with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why an upload was refused (each a 400 with the reference's message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarError {
    #[error("Invalid avatar format: expected data URL")]
    NotDataUrl,
    #[error("Unsupported image type '{0}'. Allowed: jpeg, png, webp.")]
    UnsupportedType(String),
    #[error("Invalid base64 data in avatar")]
    BadBase64,
    #[error("Avatar too large ({0} bytes). Maximum is 512 KB.")]
    TooLarge(usize),
    #[error("Avatar content does not match declared image type (magic bytes mismatch).")]
    MagicMismatch,
    #[error("Invalid WebP file structure.")]
    BadWebp,
}

/// The three accepted image types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
}

impl ImageType {
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
        }
    }

    fn from_mime(mime: &str) -> Option<ImageType> {
        match mime {
            "image/jpeg" => Some(ImageType::Jpeg),
            "image/png" => Some(ImageType::Png),
            "image/webp" => Some(ImageType::Webp),
            _ => None,
        }
    }

    /// Whether `bytes` start like an image of this type.
    fn magic_matches(self, bytes: &[u8]) -> bool {
        match self {
            ImageType::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            ImageType::Png => bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]),
            ImageType::Webp => bytes.starts_with(b"RIFF"),
        }
    }

    /// The type of stored bytes, judged by their content alone.
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        [ImageType::Jpeg, ImageType::Png]
            .into_iter()
            .find(|t| t.magic_matches(bytes))
            .or_else(|| {
                (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
                    .then_some(ImageType::Webp)
            })
    }
}

/// Validates a `data:<mime>;base64,<payload>` URL and returns the image bytes.
pub fn decode_data_url(url: &str) -> Result<(ImageType, Vec<u8>), AvatarError> {
    let rest = url.strip_prefix("data:").ok_or(AvatarError::NotDataUrl)?;
    let (mime, payload) = rest.split_once(";base64,").ok_or(AvatarError::NotDataUrl)?;
    if mime.is_empty() || mime.contains(',') || payload.is_empty() {
        return Err(AvatarError::NotDataUrl);
    }
    let mime = mime.trim().to_lowercase();
    let Some(kind) = ImageType::from_mime(&mime) else {
        return Err(AvatarError::UnsupportedType(shorten(&mime)));
    };
    // The payload may be wrapped over several lines.
    let compact: String = payload.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = BASE64
        .decode(compact.as_bytes())
        .map_err(|_| AvatarError::BadBase64)?;
    if bytes.len() > MAX_AVATAR_BYTES {
        return Err(AvatarError::TooLarge(bytes.len()));
    }
    if !kind.magic_matches(&bytes) {
        return Err(AvatarError::MagicMismatch);
    }
    if kind == ImageType::Webp && bytes.get(8..12) != Some(b"WEBP") {
        return Err(AvatarError::BadWebp);
    }
    Ok((kind, bytes))
}

/// The data URL served for stored bytes, or `None` when they are not an accepted image.
pub fn encode_data_url(bytes: &[u8]) -> Option<String> {
    if bytes.len() > MAX_AVATAR_BYTES {
        return None;
    }
    let kind = ImageType::sniff(bytes)?;
    Some(format!(
        "data:{};base64,{}",
        kind.mime(),
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// Where the avatar of the config at `app_yaml` is stored.
pub fn avatar_path(app_yaml: &Path) -> PathBuf {
    match app_yaml.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(AVATAR_FILE),
        _ => PathBuf::from(AVATAR_FILE),
    }
}

/// Echoing a client's MIME type back is fine; echoing a megabyte of it is not.
fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn url(mime: &str, bytes: &[u8]) -> String {
        format!("data:{mime};base64,{}", STANDARD.encode(bytes))
    }

    fn jpeg() -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF];
        b.extend([0u8; 10]);
        b
    }

    #[test]
    fn accepts_the_three_types_and_round_trips() {
        let j = jpeg();
        let (kind, bytes) = decode_data_url(&url("image/jpeg", &j)).unwrap();
        assert_eq!((kind, bytes.clone()), (ImageType::Jpeg, j.clone()));
        assert_eq!(encode_data_url(&bytes).unwrap(), url("image/jpeg", &j));

        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        png.extend([7u8; 20]);
        assert_eq!(
            decode_data_url(&url(" IMAGE/PNG ", &png)).unwrap().0,
            ImageType::Png
        );
        assert_eq!(encode_data_url(&png).unwrap(), url("image/png", &png));

        let mut webp = b"RIFF\0\0\0\0WEBPVP8 ".to_vec();
        webp.extend([1u8; 8]);
        assert_eq!(
            decode_data_url(&url("image/webp", &webp)).unwrap().0,
            ImageType::Webp
        );
        assert_eq!(encode_data_url(&webp).unwrap(), url("image/webp", &webp));
    }

    #[test]
    fn payload_may_span_lines_and_skip_padding() {
        let j = jpeg();
        let enc = STANDARD.encode(&j);
        let wrapped = format!("data:image/jpeg;base64,{}\n{}", &enc[..8], &enc[8..]);
        assert_eq!(decode_data_url(&wrapped).unwrap().1, j);
        let unpadded = format!("data:image/jpeg;base64,{}", enc.trim_end_matches('='));
        assert_eq!(decode_data_url(&unpadded).unwrap().1, j);
    }

    #[test]
    fn refusals_carry_the_reference_messages() {
        let e = |u: &str| decode_data_url(u).unwrap_err().to_string();
        assert_eq!(
            e("not-a-data-url"),
            "Invalid avatar format: expected data URL"
        );
        assert_eq!(
            e("data:image/jpeg,abc"),
            "Invalid avatar format: expected data URL"
        );
        assert!(e("data:image/svg+xml;base64,PHN2Zy8+").contains("svg"));
        assert_eq!(
            e("data:text/html;base64,PGI+"),
            "Unsupported image type 'text/html'. Allowed: jpeg, png, webp."
        );
        assert_eq!(
            e("data:image/jpeg;base64,@@@@"),
            "Invalid base64 data in avatar"
        );
        assert!(e(&url("image/jpeg", b"PK\x03\x04rest")).contains("magic"));
        let big = [jpeg(), vec![0u8; MAX_AVATAR_BYTES + 3 - 13]].concat();
        assert_eq!(big.len(), MAX_AVATAR_BYTES + 3);
        assert_eq!(
            e(&url("image/jpeg", &big)),
            format!(
                "Avatar too large ({} bytes). Maximum is 512 KB.",
                MAX_AVATAR_BYTES + 3
            )
        );
        assert_eq!(
            e(&url("image/webp", b"RIFF\0\0\0\0AVI LIST")),
            "Invalid WebP file structure."
        );
        let long_mime = format!("image/{}", "x".repeat(5000));
        assert!(e(&format!("data:{long_mime};base64,AAAA")).len() < 200);
    }

    #[test]
    fn exactly_512_kib_is_accepted() {
        let max = [jpeg(), vec![0u8; MAX_AVATAR_BYTES - 13]].concat();
        assert!(decode_data_url(&url("image/jpeg", &max)).is_ok());
    }

    #[test]
    fn unknown_stored_content_is_not_served() {
        assert_eq!(encode_data_url(b"<svg/>"), None);
        assert_eq!(encode_data_url(b"RIFF\0\0\0\0AVI "), None);
        assert_eq!(encode_data_url(b""), None);
    }

    #[test]
    fn stored_next_to_app_yaml() {
        assert_eq!(
            avatar_path(Path::new("/etc/rackscope/app.yaml")),
            PathBuf::from("/etc/rackscope/avatar.jpeg")
        );
        assert_eq!(
            avatar_path(Path::new("app.yaml")),
            PathBuf::from("avatar.jpeg")
        );
    }
}
