//! Clearing the index entries that rows leave behind in `byUncommitted`.
//!
//! Chromium does not delete a record's old index entries when the record is rewritten under
//! another index key or deleted: it leaves them (its "tombstones") and skips them on every read
//! of the index, until a cursor of a read-write transaction walks over one and drops it, or the
//! database has been closed for a while. Every committed row leaves one in `byUncommitted`, so
//! without this a page of `listUncommitted` among 100,000 committed rows read 100,000 dead entries
//! (7.5 ms among 1,000, 770 ms among 100,000, raw IndexedDB on Chromium 156). Each transaction
//! that takes rows out of the index in bulk (commit, release, re-intent, discard, a sweep batch)
//! therefore ends by counting its old keys' span in the index, which has Chromium drop them on the
//! spot; a span costs one request, where a count per row added a third to a commit. (An explicit
//! `delete` of a pending attachment does not: rare, and a later sweep batch's span covers it.) Firefox and WebKit
//! delete index entries with their records, and the count reads nothing there.

use super::idb::{uncommitted_between, Tx};
use super::schema::{BY_UNCOMMITTED, MANIFEST};
use crate::core::error::Result;
use crate::core::manifest_rules::AttachmentManifestEntry;

/// A row's key in `byUncommitted`: `[uncommittedAt, sessionId, attachmentId]`.
type Key<'a> = (f64, &'a str, &'a str);

/// The span of `byUncommitted` keys that rows held before a transaction rewrote or deleted them.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct LeftUncommitted(Option<((f64, String, String), (f64, String, String))>);

impl LeftUncommitted {
    /// The span of the keys of `rows` (as they were), the uncommitted ones: committed rows have none.
    pub(crate) fn of(rows: &[AttachmentManifestEntry]) -> Self {
        let mut span: Option<(Key, Key)> = None;
        for row in rows.iter().filter(|row| !row.is_committed()) {
            let key = (row.intent_at_epoch_ms as f64, row.session_id.as_str(), row.attachment_id.as_str());
            span = Some(match span {
                None => (key, key),
                Some((first, last)) => (if before(key, first) { key } else { first }, if before(last, key) { key } else { last }),
            });
        }
        let owned = |(at, session, id): Key| (at, session.to_owned(), id.to_owned());
        Self(span.map(|(first, last)| (owned(first), owned(last))))
    }

    /// Walks the span in `tx` (read-write, issued after its writes): Chromium drops what it finds
    /// dead. Left to the transaction, as a write is.
    pub(crate) fn clear(&self, tx: &Tx) -> Result<()> {
        match &self.0 {
            Some((first, last)) => tx.store(MANIFEST)?.index(BY_UNCOMMITTED)?.walk(&uncommitted_between((first.0, &first.1, &first.2), (last.0, &last.1, &last.2))?),
            None => Ok(()),
        }
    }
}

/// Whether `a` sorts before `b` as IndexedDB compares them: the time, then each string by its
/// UTF-16 code units (not by UTF-8 bytes, which order some characters differently).
fn before(a: Key, b: Key) -> bool {
    let utf16 = |x: &str, y: &str| x.encode_utf16().cmp(y.encode_utf16());
    a.0.total_cmp(&b.0).then_with(|| utf16(a.1, b.1)).then_with(|| utf16(a.2, b.2)).is_lt()
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::core::id::AttachmentId;

    fn row(at: i64, session: &str, id: char, committed: bool) -> AttachmentManifestEntry {
        AttachmentManifestEntry {
            attachment_id: AttachmentId::parse(&id.to_string().repeat(64)).unwrap(),
            session_id: session.into(),
            canonical_uri: String::new(),
            intent_at_epoch_ms: at,
            committed_at_epoch_ms: committed.then_some(at + 1),
        }
    }

    #[wasm_bindgen_test]
    fn spans_the_uncommitted_rows_only_in_index_order() {
        let rows = [row(5, "b", 'a', false), row(1, "z", 'b', true), row(5, "a", 'c', false), row(9, "a", 'd', false), row(2, "a", 'e', true)];
        let (first, last) = LeftUncommitted::of(&rows).0.unwrap();
        assert_eq!((first.0, first.1.as_str()), (5.0, "a"));
        assert_eq!((last.0, last.1.as_str()), (9.0, "a"));
        assert_eq!(LeftUncommitted::of(&rows[1..2]), LeftUncommitted(None));
    }

    #[wasm_bindgen_test]
    fn compares_strings_as_utf16() {
        // U+FF5E is one UTF-16 unit (0xFF5E), U+1F600 two (0xD83D...): UTF-16 puts the emoji first,
        // UTF-8 bytes the other way round.
        assert!(before((1.0, "\u{1F600}", "x"), (1.0, "\u{FF5E}", "x")));
        assert!(!before((1.0, "\u{FF5E}", "x"), (1.0, "\u{1F600}", "x")));
        assert!(before((1.0, "z", "x"), (2.0, "a", "a")));
        // The engine agrees: a span of such sessions is a valid key range (bound() throws
        // DataError when its lower key sorts after its upper).
        let rows = [row(1, "\u{FF5E}", 'a', false), row(1, "\u{1F600}", 'b', false)];
        let (first, last) = LeftUncommitted::of(&rows).0.unwrap();
        uncommitted_between((first.0, &first.1, &first.2), (last.0, &last.1, &last.2)).expect("a valid key range");
    }
}
