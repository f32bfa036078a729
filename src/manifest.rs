//! The write-ahead manifest trait.

use async_trait::async_trait;

use crate::core::error::Result;
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};

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
}
