//! Validated, normalised MIME types (`type/subtype`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::AttachmentStoreError;
use super::id::quote_for_message;

/// A MIME type `type/subtype`: trimmed, lowercased, aliases normalised (`image/jpg` ->
/// `image/jpeg`). Parameters (`; charset=...`) are rejected rather than dropped, so the stored type
/// is exactly what the caller meant and two spellings of one type never coexist.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MediaType(String);

/// Aliases seen in the wild, mapped to their registered names.
const ALIASES: &[(&str, &str)] = &[
    ("image/jpg", "image/jpeg"),
    ("image/pjpeg", "image/jpeg"),
    ("image/x-png", "image/png"),
    ("image/x-icon", "image/vnd.microsoft.icon"),
    ("audio/mp3", "audio/mpeg"),
    ("audio/x-mp3", "audio/mpeg"),
    ("audio/x-wav", "audio/wav"),
    ("audio/wave", "audio/wav"),
    ("audio/x-m4a", "audio/mp4"),
    ("application/x-pdf", "application/pdf"),
    ("text/x-markdown", "text/markdown"),
    ("application/x-javascript", "text/javascript"),
    ("application/javascript", "text/javascript"),
];

/// RFC 6838 restricted-name characters (besides alphanumerics).
fn is_restricted_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c)
}

fn is_restricted_name(part: &str) -> bool {
    (1..=127).contains(&part.len())
        && part.starts_with(|c: char| c.is_ascii_alphanumeric())
        && part.chars().all(is_restricted_name_char)
}

impl MediaType {
    /// Validates and normalises `text`.
    pub fn parse(text: &str) -> Result<Self, AttachmentStoreError> {
        let lowered = text.trim().to_ascii_lowercase();
        let reject = |why: &str| {
            Err(AttachmentStoreError::invalid_input(format!(
                "media type {} {why}; expected `type/subtype`",
                quote_for_message(text)
            )))
        };
        if lowered.contains(';') {
            return reject("has parameters, which are not accepted");
        }
        let Some((kind, subtype)) = lowered.split_once('/') else {
            return reject("has no `/`");
        };
        if !is_restricted_name(kind) || !is_restricted_name(subtype) {
            return reject("is malformed");
        }
        let normalised = ALIASES
            .iter()
            .find(|(alias, _)| *alias == lowered)
            .map_or(lowered.clone(), |(_, canonical)| (*canonical).to_owned());
        Ok(Self(normalised))
    }

    /// The media type a `Blob` or `File` says it has (`blob.type`), for a put that names none:
    /// its parameters dropped (`text/plain;charset=utf-8` -> `text/plain`, what `fetch().blob()`
    /// gives), normalised as [`Self::parse`] does; `application/octet-stream` when it is empty (a
    /// file the browser has no type for) or not a media type at all.
    pub fn of_blob_type(blob_type: &str) -> Self {
        let essence = blob_type.split(';').next().unwrap_or_default();
        Self::parse(essence).unwrap_or_else(|_| Self::octet_stream())
    }

    /// `application/octet-stream`: bytes of no known type.
    pub fn octet_stream() -> Self {
        Self("application/octet-stream".to_owned())
    }

    /// The normalised form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `/` (`image` for `image/png`).
    pub fn top_level(&self) -> &str {
        self.0.split_once('/').map_or("", |(kind, _)| kind)
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaType({})", self.0)
    }
}

impl std::str::FromStr for MediaType {
    type Err = AttachmentStoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for MediaType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MediaType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(MediaType::parse("  Image/PNG ").unwrap().as_str(), "image/png");
        assert_eq!(MediaType::parse("image/jpg").unwrap().as_str(), "image/jpeg");
        assert_eq!(MediaType::parse("IMAGE/JPG").unwrap().as_str(), "image/jpeg");
        assert_eq!(MediaType::parse("application/vnd.openxmlformats-officedocument.wordprocessingml.document").unwrap().top_level(), "application");
        assert_eq!(MediaType::parse("image/svg+xml").unwrap().as_str(), "image/svg+xml");
    }

    #[test]
    fn rejects_parameters_and_malformed() {
        for bad in ["", "image", "image/", "/png", "text/plain; charset=utf-8", "a/b/c", "image/p ng", "ima ge/png", "-x/y", "x/\u{e9}", "image/png;"] {
            let err = MediaType::parse(bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn a_blob_type_gives_its_essence_or_octet_stream() {
        for (blob_type, expected) in [
            ("image/png", "image/png"),
            ("text/plain;charset=utf-8", "text/plain"),
            ("Text/HTML; charset=UTF-8", "text/html"),
            ("image/jpg", "image/jpeg"),
            ("", "application/octet-stream"),
            ("image", "application/octet-stream"),
            ("not a type", "application/octet-stream"),
        ] {
            assert_eq!(MediaType::of_blob_type(blob_type).as_str(), expected, "{blob_type:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_is_idempotent(text in "\\PC{0,40}") {
            if let Ok(parsed) = MediaType::parse(&text) {
                proptest::prop_assert_eq!(MediaType::parse(parsed.as_str()).unwrap(), parsed);
            }
        }
    }
}
