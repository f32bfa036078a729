//! Content addresses: an [`AttachmentId`] is the SHA-256 of an attachment's bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use super::error::AttachmentStoreError;

/// The prefix of an attachment's canonical URI (`sha256:<id>`), also accepted wherever an id is.
pub const CANONICAL_URI_PREFIX: &str = "sha256:";

/// The SHA-256 of an attachment's bytes, as 64 lowercase hex characters.
///
/// Parsing accepts the bare hex form and the canonical URI form `sha256:<hex>`; upper-case hex is
/// rejected rather than folded so that one content has exactly one spelling.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttachmentId(String);

impl AttachmentId {
    /// Parses `<64 lowercase hex>` or `sha256:<64 lowercase hex>`.
    pub fn parse(text: &str) -> Result<Self, AttachmentStoreError> {
        let hex = text.strip_prefix(CANONICAL_URI_PREFIX).unwrap_or(text);
        let well_formed =
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(Self(hex.to_owned()))
        } else {
            Err(AttachmentStoreError::invalid_input(format!(
                "attachment id must be 64 lowercase hex characters (optionally prefixed `sha256:`), got {}",
                quote_for_message(text)
            )))
        }
    }

    /// The id of a SHA-256 digest.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(to_lower_hex(&digest))
    }

    /// The 64-character hex form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `sha256:<id>`, the form stored in manifest rows.
    pub fn canonical_uri(&self) -> String {
        format!("{CANONICAL_URI_PREFIX}{}", self.0)
    }
}

impl fmt::Display for AttachmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AttachmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttachmentId({})", self.0)
    }
}

impl FromStr for AttachmentId {
    type Err = AttachmentStoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for AttachmentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for AttachmentId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AttachmentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The [`AttachmentId`] of `bytes`.
pub fn content_id(bytes: &[u8]) -> AttachmentId {
    let mut hasher = ContentHasher::new();
    hasher.update(bytes);
    hasher.finish()
}

/// Incremental [`content_id`]: feed the bytes in chunks (e.g. slices of a large `Blob`) so memory
/// stays bounded; the result equals `content_id` of the concatenation.
#[derive(Clone, Default)]
pub struct ContentHasher {
    sha: Sha256,
    len: u64,
}

impl ContentHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.sha.update(chunk);
        self.len += chunk.len() as u64;
    }

    /// How many bytes have been fed so far.
    pub fn byte_len(&self) -> u64 {
        self.len
    }

    /// The id of everything fed.
    pub fn finish(self) -> AttachmentId {
        AttachmentId::from_digest(self.sha.finalize().into())
    }
}

fn to_lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(DIGITS[usize::from(byte >> 4)] as char);
        out.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    out
}

/// Keeps error messages readable when the bad input is huge.
/// `text` in double quotes for an error message, cut after 80 characters. (Not `{:?}`: that would
/// pull Rust's string escaping, with its Unicode tables, into the wasm for messages alone.)
pub(crate) fn quote_for_message(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("\"{}…\"", &text[..cut]),
        None => format!("\"{text}\""),
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn known_digests() {
        assert_eq!(content_id(b"").as_str(), EMPTY);
        assert_eq!(
            content_id(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_accepts_bare_and_canonical_uri() {
        let bare = AttachmentId::parse(EMPTY).unwrap();
        let uri = AttachmentId::parse(&format!("sha256:{EMPTY}")).unwrap();
        assert_eq!(bare, uri);
        assert_eq!(bare.canonical_uri(), format!("sha256:{EMPTY}"));
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in ["", "abc", &EMPTY.to_uppercase(), &format!("{EMPTY}0"), &EMPTY[1..], "sha256:", &format!("SHA256:{EMPTY}"), &format!("{}g", &EMPTY[1..])] {
            let err = AttachmentId::parse(bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn huge_bad_input_gives_short_message() {
        let err = AttachmentId::parse(&"x".repeat(10_000)).unwrap_err();
        assert!(err.message().len() < 300);
    }

    proptest::proptest! {
        #[test]
        fn chunked_hash_equals_one_shot(data in proptest::collection::vec(proptest::num::u8::ANY, 0..4096), cuts in proptest::collection::vec(0usize..4096, 0..8)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut hasher = ContentHasher::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                hasher.update(&data[start..cut]);
                start = cut;
            }
            proptest::prop_assert_eq!(hasher.byte_len(), data.len() as u64);
            proptest::prop_assert_eq!(hasher.finish(), content_id(&data));
        }

        #[test]
        fn every_id_roundtrips(digest in proptest::array::uniform32(proptest::num::u8::ANY)) {
            let id = AttachmentId::from_digest(digest);
            proptest::prop_assert_eq!(AttachmentId::parse(id.as_str()).unwrap(), id.clone());
            proptest::prop_assert_eq!(AttachmentId::parse(&id.canonical_uri()).unwrap(), id);
        }
    }
}
