//! The write-ahead manifest's rules as pure functions over rows, shared by every backend so the
//! memory and IndexedDB manifests cannot drift apart.
//!
//! A row is keyed by `(session_id, attachment_id)`: one row per session that wrote a content.

use serde::{Deserialize, Serialize};

use super::error::{AttachmentStoreError, Result};
use super::id::AttachmentId;

/// A session's declaration, made before the bytes land, that it is writing an attachment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentIntent {
    /// What is being written.
    pub attachment_id: AttachmentId,
    /// Who writes it (an agent conversation).
    pub session_id: String,
    /// `sha256:<attachment_id>`.
    pub canonical_uri: String,
    /// When the intent was recorded.
    pub intent_at_epoch_ms: i64,
}

impl AttachmentIntent {
    /// An intent by `session_id` for `attachment_id` at `intent_at_epoch_ms`, with the canonical URI.
    pub fn new(attachment_id: AttachmentId, session_id: impl Into<String>, intent_at_epoch_ms: i64) -> Self {
        Self {
            canonical_uri: attachment_id.canonical_uri(),
            attachment_id,
            session_id: session_id.into(),
            intent_at_epoch_ms,
        }
    }

    /// Checks what the types cannot: a non-empty session id and a canonical URI naming the id.
    pub fn validate(&self) -> Result<()> {
        validate_session_id(&self.session_id)?;
        let named = AttachmentId::parse(&self.canonical_uri).ok();
        if !self.canonical_uri.starts_with(super::id::CANONICAL_URI_PREFIX) || named.as_ref() != Some(&self.attachment_id) {
            return Err(AttachmentStoreError::invalid_input(format!(
                "canonicalUri must be `sha256:{}`, got {}",
                self.attachment_id,
                super::id::quote_for_message(&self.canonical_uri)
            )));
        }
        Ok(())
    }
}

impl AttachmentIntent {
    /// [`Self::validate`], and that the intent names the bytes about to be written (`id` is
    /// their SHA-256): an intent for other content would protect the wrong bytes.
    pub fn validate_for(&self, id: &AttachmentId) -> Result<()> {
        self.validate()?;
        if &self.attachment_id != id {
            return Err(AttachmentStoreError::invalid_input(format!("the intent names {} but the bytes hash to {id}", self.attachment_id)));
        }
        Ok(())
    }
}

/// Session ids are opaque but must be non-empty, so that a row always names its writer.
pub fn validate_session_id(session_id: &str) -> Result<()> {
    if session_id.is_empty() {
        Err(AttachmentStoreError::invalid_input("sessionId must be a non-empty string"))
    } else {
        Ok(())
    }
}

/// One manifest row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentManifestEntry {
    /// The attachment.
    pub attachment_id: AttachmentId,
    /// The session that wrote it.
    pub session_id: String,
    /// `sha256:<attachment_id>`.
    pub canonical_uri: String,
    /// When the intent was last recorded.
    pub intent_at_epoch_ms: i64,
    /// When the session committed it; absent while only intended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_at_epoch_ms: Option<i64>,
}

impl AttachmentManifestEntry {
    /// Whether the session has committed this row.
    pub fn is_committed(&self) -> bool {
        self.committed_at_epoch_ms.is_some()
    }

    /// The row's key: `(session_id, attachment_id)`.
    pub fn key(&self) -> (&str, &AttachmentId) {
        (&self.session_id, &self.attachment_id)
    }
}

/// The row after recording `intent` over `existing` (that session's row for that id, if any):
/// intent time and URI are refreshed, an existing commit stamp is always kept.
pub fn apply_intent(existing: Option<&AttachmentManifestEntry>, intent: &AttachmentIntent) -> AttachmentManifestEntry {
    AttachmentManifestEntry {
        attachment_id: intent.attachment_id.clone(),
        session_id: intent.session_id.clone(),
        canonical_uri: intent.canonical_uri.clone(),
        intent_at_epoch_ms: intent.intent_at_epoch_ms,
        committed_at_epoch_ms: existing.and_then(|row| row.committed_at_epoch_ms),
    }
}

/// The row after a commit at `now`, or `None` when it needs no write (already committed).
/// Commits never insert: callers apply this only to rows that exist.
pub fn apply_commit(existing: &AttachmentManifestEntry, now_epoch_ms: i64) -> Option<AttachmentManifestEntry> {
    if existing.is_committed() {
        return None;
    }
    Some(AttachmentManifestEntry { committed_at_epoch_ms: Some(now_epoch_ms), ..existing.clone() })
}

/// Whether a row is a reclaim candidate at `older_than_epoch_ms` (inclusive).
pub fn is_uncommitted_at(row: &AttachmentManifestEntry, older_than_epoch_ms: i64) -> bool {
    !row.is_committed() && row.intent_at_epoch_ms <= older_than_epoch_ms
}

/// The rows `list_uncommitted(older_than)` returns, oldest first (ties by session, then id, so the
/// order is the same on every backend).
pub fn select_uncommitted<'a>(
    rows: impl IntoIterator<Item = &'a AttachmentManifestEntry>,
    older_than_epoch_ms: i64,
) -> Vec<AttachmentManifestEntry> {
    select_uncommitted_page(rows, older_than_epoch_ms, None, usize::MAX)
}

/// The order `list_uncommitted` returns rows in: oldest intent first, then session, then id.
pub fn uncommitted_order(a: &AttachmentManifestEntry, b: &AttachmentManifestEntry) -> std::cmp::Ordering {
    (a.intent_at_epoch_ms, &a.session_id, &a.attachment_id).cmp(&(b.intent_at_epoch_ms, &b.session_id, &b.attachment_id))
}

/// Whether `row` is on a page that starts after `after` (no `after`: the first page) in
/// [`uncommitted_order`].
pub fn comes_after(row: &AttachmentManifestEntry, after: Option<&AttachmentManifestEntry>) -> bool {
    after.is_none_or(|after| uncommitted_order(row, after) == std::cmp::Ordering::Greater)
}

/// A page of what [`select_uncommitted`] returns: its first `limit` rows after `after`, picked
/// by selection, so only the page is sorted (for backends that hold every row anyway).
pub fn select_uncommitted_page<'a>(
    rows: impl IntoIterator<Item = &'a AttachmentManifestEntry>,
    older_than_epoch_ms: i64,
    after: Option<&AttachmentManifestEntry>,
    limit: usize,
) -> Vec<AttachmentManifestEntry> {
    let mut selected: Vec<_> = rows.into_iter().filter(|row| is_uncommitted_at(row, older_than_epoch_ms) && comes_after(row, after)).cloned().collect();
    if selected.len() > limit {
        selected.select_nth_unstable_by(limit, uncommitted_order);
        selected.truncate(limit);
    }
    sort_rows(&mut selected, &uncommitted_order);
    selected
}

/// Sorts rows in `order`. Every ordering of rows goes through here, so the wasm carries one copy
/// of the sort for rows instead of one per ordering. Rows are unique by (session, attachment), so
/// an unstable sort on an order that includes both is still deterministic.
pub fn sort_rows(rows: &mut [AttachmentManifestEntry], order: &dyn Fn(&AttachmentManifestEntry, &AttachmentManifestEntry) -> std::cmp::Ordering) {
    rows.sort_unstable_by(|a, b| order(a, b));
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::content_id;

    fn row(session: &str, data: &[u8], at: i64, committed: Option<i64>) -> AttachmentManifestEntry {
        let intent = AttachmentIntent::new(content_id(data), session, at);
        AttachmentManifestEntry { committed_at_epoch_ms: committed, ..apply_intent(None, &intent) }
    }

    #[test]
    fn intent_refresh_keeps_commit() {
        let committed = row("s", b"a", 10, Some(20));
        let refreshed = apply_intent(Some(&committed), &AttachmentIntent::new(content_id(b"a"), "s", 30));
        assert_eq!(refreshed.intent_at_epoch_ms, 30);
        assert_eq!(refreshed.committed_at_epoch_ms, Some(20));
    }

    #[test]
    fn commit_stamps_once() {
        let open = row("s", b"a", 10, None);
        let done = apply_commit(&open, 50).unwrap();
        assert_eq!(done.committed_at_epoch_ms, Some(50));
        assert_eq!(apply_commit(&done, 60), None);
    }

    #[test]
    fn uncommitted_is_inclusive_and_oldest_first() {
        let rows = [row("b", b"1", 5, None), row("a", b"2", 5, None), row("a", b"3", 1, None), row("a", b"4", 6, None), row("a", b"5", 0, Some(1))];
        let listed = select_uncommitted(&rows, 5);
        let order: Vec<_> = listed.iter().map(|r| (r.intent_at_epoch_ms, r.session_id.as_str())).collect();
        assert_eq!(order, [(1, "a"), (5, "a"), (5, "b")]);
    }

    #[test]
    fn pages_cover_the_listing_in_order() {
        let rows: Vec<_> = (0..40u8).map(|i| row(["a", "b", "c"][usize::from(i % 3)], &[i], i64::from(i % 7), (i % 5 == 0).then_some(1))).collect();
        let whole = select_uncommitted(&rows, 5);
        for limit in [1, 3, 7, 100] {
            let (mut paged, mut after) = (Vec::new(), None::<AttachmentManifestEntry>);
            loop {
                let page = select_uncommitted_page(&rows, 5, after.as_ref(), limit);
                assert!(page.len() <= limit);
                let Some(last) = page.last().cloned() else { break };
                paged.extend(page);
                after = Some(last);
            }
            assert_eq!(paged, whole, "pages of {limit}");
        }
    }

    #[test]
    fn intent_validation() {
        let id = content_id(b"x");
        assert!(AttachmentIntent::new(id.clone(), "s", 0).validate().is_ok());
        assert!(AttachmentIntent::new(id.clone(), "", 0).validate().is_err());
        let mut wrong_uri = AttachmentIntent::new(id, "s", 0);
        wrong_uri.canonical_uri = content_id(b"y").canonical_uri();
        assert!(wrong_uri.validate().is_err());
        wrong_uri.canonical_uri = content_id(b"x").to_string();
        assert!(wrong_uri.validate().is_err());
    }
}
