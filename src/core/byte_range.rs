//! Byte ranges of an attachment, and how an HTTP request for one is answered, as pure decisions:
//! `getBlob`/`getStream` ranges (`start`, exclusive `end`) and `serveAttachment`'s status, headers
//! and range from the method, the `Range` and `If-None-Match` headers and the stored length.

use super::error::{AttachmentStoreError, Result};
use super::id::AttachmentId;

/// A stretch of bytes, `start..end` (`end` exclusive), within an attachment of known length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl ByteRange {
    /// Every byte of an attachment of `len` bytes.
    pub fn whole(len: u64) -> Self {
        Self { start: 0, end: len }
    }

    /// `start..end` of an attachment of `len` bytes, as `getBlob(id, { start, end })` takes it:
    /// `end` defaults to the length and is clamped to it (as `Blob.slice` does); a `start` past
    /// the end, or after `end`, is `InvalidInput`.
    pub fn within(start: u64, end: Option<u64>, len: u64) -> Result<Self> {
        let end = end.unwrap_or(len).min(len);
        if start > end {
            return Err(AttachmentStoreError::invalid_input(format!("range start {start} is past its end {end} (the attachment has {len} bytes)")));
        }
        Ok(Self { start, end })
    }

    /// How many bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The pieces of it that fall in each stored chunk of `chunk` bytes: `(chunk index, start,
    /// end)` with offsets within that chunk, in order.
    pub fn in_chunks(&self, chunk: u64) -> Vec<(u64, u64, u64)> {
        let mut pieces = Vec::new();
        let mut at = self.start;
        while at < self.end {
            let index = at / chunk;
            let chunk_end = ((index + 1) * chunk).min(self.end);
            pieces.push((index, at - index * chunk, chunk_end - index * chunk));
            at = chunk_end;
        }
        pieces
    }
}

/// What a `Range` header asks of an attachment of `len` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No `Range` header, or one this answer ignores (another unit, several ranges, malformed):
    /// the whole attachment, 200. RFC 9110 lets a server ignore what it does not support.
    Whole,
    /// One satisfiable range: 206.
    Partial(ByteRange),
    /// A well-formed range past the end: 416.
    Unsatisfiable,
}

/// Reads `Range: bytes=a-b`, `bytes=a-` and `bytes=-n` against `len` (RFC 9110 §14.1.2).
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.map(str::trim).and_then(|header| header.strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else { return RangeRequest::Whole };
    let number = |text: &str| -> Option<u64> { (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten() };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // `bytes=-n`: the last n bytes.
        return match number(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(suffix) => RangeRequest::Partial(ByteRange { start: len - suffix.min(len), end: len }),
            None => RangeRequest::Whole,
        };
    }
    let Some(start) = number(first) else { return RangeRequest::Whole };
    let last = match last {
        "" => None,
        text => match number(text) {
            Some(last) => Some(last),
            None => return RangeRequest::Whole,
        },
    };
    if start >= len {
        return RangeRequest::Unsatisfiable;
    }
    match last {
        Some(last) if last < start => RangeRequest::Whole,
        Some(last) => RangeRequest::Partial(ByteRange { start, end: last.saturating_add(1).min(len) }),
        None => RangeRequest::Partial(ByteRange { start, end: len }),
    }
}

/// The `ETag` of an attachment: its id, quoted. Its bytes never change, so it is a strong tag.
pub fn etag(id: &AttachmentId) -> String {
    format!("\"{id}\"")
}

/// Whether an `If-None-Match` header names this attachment's tag (or `*`), so a cache's copy is
/// current (304). Weak tags (`W/"..."`) match too, as RFC 9110 asks for this header.
pub fn none_match(header: Option<&str>, id: &AttachmentId) -> bool {
    let Some(header) = header else { return false };
    let tag = etag(id);
    header.split(',').map(str::trim).any(|candidate| candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::content_id;

    #[test]
    fn ranges_as_http_asks() {
        let part = |start, end| RangeRequest::Partial(ByteRange { start, end });
        for (header, expected) in [
            (None, RangeRequest::Whole),
            (Some("bytes=0-0"), part(0, 1)),
            (Some("bytes=0-99"), part(0, 100)),
            (Some("bytes=99-99"), part(99, 100)),
            (Some("bytes=10-"), part(10, 100)),
            (Some("bytes=10-1000"), part(10, 100)),
            (Some("bytes=-1"), part(99, 100)),
            (Some("bytes=-500"), part(0, 100)),
            (Some(" bytes= 5 - 9 "), part(5, 10)),
            (Some("bytes=100-"), RangeRequest::Unsatisfiable),
            (Some("bytes=100-200"), RangeRequest::Unsatisfiable),
            (Some("bytes=-0"), RangeRequest::Unsatisfiable),
            (Some("bytes=9-5"), RangeRequest::Whole),
            (Some("bytes=0-1,5-6"), RangeRequest::Whole),
            (Some("items=0-1"), RangeRequest::Whole),
            (Some("bytes=a-b"), RangeRequest::Whole),
            (Some("bytes=-"), RangeRequest::Whole),
            (Some("bytes=5-x"), RangeRequest::Whole),
        ] {
            assert_eq!(parse_range(header, 100), expected, "{header:?}");
        }
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeRequest::Unsatisfiable, "nothing to give of an empty attachment");
        assert_eq!(parse_range(Some("bytes=-5"), 0), RangeRequest::Unsatisfiable);
    }

    #[test]
    fn api_ranges_clamp_like_blob_slice() {
        assert_eq!(ByteRange::within(0, None, 10).unwrap(), ByteRange { start: 0, end: 10 });
        assert_eq!(ByteRange::within(3, Some(50), 10).unwrap(), ByteRange { start: 3, end: 10 });
        assert_eq!(ByteRange::within(10, None, 10).unwrap().len(), 0, "an empty range at the end");
        assert!(ByteRange::within(11, None, 10).is_err());
        assert!(ByteRange::within(5, Some(4), 10).is_err());
    }

    #[test]
    fn etags_match_if_none_match() {
        let id = content_id(b"x");
        assert!(none_match(Some(&etag(&id)), &id));
        assert!(none_match(Some(&format!("\"other\", W/{}", etag(&id))), &id));
        assert!(none_match(Some("*"), &id));
        assert!(!none_match(Some("\"other\""), &id));
        assert!(!none_match(None, &id));
    }

    proptest::proptest! {
        #[test]
        fn chunks_cover_a_range_exactly(start in 0u64..1000, len in 0u64..1000, chunk in 1u64..300) {
            let range = ByteRange { start, end: start + len };
            let pieces = range.in_chunks(chunk);
            let covered: u64 = pieces.iter().map(|(_, a, b)| b - a).sum();
            proptest::prop_assert_eq!(covered, len);
            let mut at = start;
            for (index, a, b) in pieces {
                proptest::prop_assert!(a < b && b <= chunk);
                proptest::prop_assert_eq!(index * chunk + a, at);
                at = index * chunk + b;
            }
        }

        #[test]
        fn a_partial_answer_lies_within_the_attachment(header in "bytes=[0-9]{0,4}-[0-9]{0,4}", len in 0u64..5000) {
            if let RangeRequest::Partial(range) = parse_range(Some(&header), len) {
                proptest::prop_assert!(range.start < range.end && range.end <= len);
            }
        }
    }
}
