//! The write-ahead manifest trait.

use async_trait::async_trait;

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{select_uncommitted_page, AttachmentIntent, AttachmentManifestEntry};
use crate::session_state::SessionState;

/// Where sessions record intents and commits. Rows are keyed by `(session_id, attachment_id)`.
///
/// Implementations only store and load rows; the rules themselves live in
/// [`crate::core::manifest_rules`] so every backend applies the same ones.
#[async_trait(?Send)]
pub trait AttachmentManifest {
    /// Inserts that session's row, or refreshes its intent time and URI; an existing commit stamp
    /// is always kept.
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()>;

    /// Stamps `committed_at = now` on that session's rows for `ids` that have none. Never inserts;
    /// missing rows and an empty list are no-ops.
    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()>;

    /// Rows with no commit and `intent_at <= older_than_epoch_ms`, oldest first.
    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>>;

    /// A page of [`Self::list_uncommitted`]: its first `limit` rows after `after` (the last row of
    /// the previous page; `None`: the first page) in its order, oldest first. The sweep reads its
    /// candidates this way, so its memory is bounded by the page. The default lists every row and
    /// cuts the page out; backends read only the page.
    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        let rows = self.list_uncommitted(older_than_epoch_ms).await?;
        Ok(select_uncommitted_page(&rows, older_than_epoch_ms, after, limit))
    }

    /// How many rows [`Self::list_uncommitted`] would return (the sweep's progress total). The
    /// default counts the list; backends count without reading the rows.
    async fn count_uncommitted(&self, older_than_epoch_ms: i64) -> Result<u64> {
        Ok(self.list_uncommitted(older_than_epoch_ms).await?.len() as u64)
    }

    /// Drops that session's row, or every row of `attachment_id` when `session_id` is `None`.
    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()>;

    /// Every row of `attachment_id`, whatever its session. The sweep re-reads these before it
    /// deletes bytes.
    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>>;

    /// Names the database this manifest lives in when it can share a transaction with a store
    /// (see [`crate::AttachmentStore::colocation`]). `None`: it cannot.
    fn colocation(&self) -> Option<String> {
        None
    }

    /// The session's uncommitted rows, whoever wrote them (another page, a worker, a view made
    /// before a reload). The default filters `list_uncommitted(i64::MAX)`; backends read only the
    /// session's rows.
    async fn uncommitted_rows_of(&self, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
        let mut rows = self.list_uncommitted(i64::MAX).await?;
        rows.retain(|row| row.session_id == session_id);
        Ok(rows)
    }

    /// Stamps the session's rows of `ids` as [`Self::commit_refs`] does and, with `state`, saves
    /// it as the session's state, in one write. This is the manifest's half of
    /// [`crate::AttachmentStore::commit_session`], which checks the bytes first. The default can
    /// save no state: with one it rejects `InvalidInput`.
    async fn commit_session(&self, session_id: &str, ids: &[AttachmentId], state: Option<&SessionState>) -> Result<()> {
        if state.is_some() {
            return Err(AttachmentStoreError::invalid_input("this manifest cannot save a session's state (it has no commitSession)"));
        }
        self.commit_refs(session_id, ids).await
    }

    /// The state the session last committed, if any. The default keeps none.
    async fn session_state(&self, _session_id: &str) -> Result<Option<SessionState>> {
        Ok(None)
    }

    /// A deleted conversation: in one write, the session's rows lose their commits (uncommitted,
    /// intended now, see [`crate::core::session_rules::apply_release`]) and its state is deleted, so
    /// a sweep reclaims its attachments after the grace period unless another session holds them.
    /// The default cannot (it would need every row of the session): it rejects `InvalidInput`.
    async fn release_session(&self, _session_id: &str) -> Result<()> {
        Err(AttachmentStoreError::invalid_input("this manifest cannot release a session (it has no releaseSession)"))
    }
}

/// A borrowed manifest is a manifest (see the store's counterpart).
#[async_trait(?Send)]
impl<M: AttachmentManifest + ?Sized> AttachmentManifest for &M {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        M::record_intent(self, intent).await
    }
    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        M::commit_refs(self, session_id, ids).await
    }
    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        M::list_uncommitted(self, older_than_epoch_ms).await
    }
    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        M::list_uncommitted_page(self, older_than_epoch_ms, after, limit).await
    }
    async fn count_uncommitted(&self, older_than_epoch_ms: i64) -> Result<u64> {
        M::count_uncommitted(self, older_than_epoch_ms).await
    }
    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        M::forget(self, attachment_id, session_id).await
    }
    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        M::entries_for(self, attachment_id).await
    }
    fn colocation(&self) -> Option<String> {
        M::colocation(self)
    }
    async fn uncommitted_rows_of(&self, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
        M::uncommitted_rows_of(self, session_id).await
    }
    async fn commit_session(&self, session_id: &str, ids: &[AttachmentId], state: Option<&SessionState>) -> Result<()> {
        M::commit_session(self, session_id, ids, state).await
    }
    async fn session_state(&self, session_id: &str) -> Result<Option<SessionState>> {
        M::session_state(self, session_id).await
    }
    async fn release_session(&self, session_id: &str) -> Result<()> {
        M::release_session(self, session_id).await
    }
}
