use std::sync::Arc;

use async_trait::async_trait;

use super::tables::Tables;
use crate::core::clock::now_epoch_ms;
use crate::core::error::Result;
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_commit, apply_intent, is_uncommitted_at, select_uncommitted, select_uncommitted_page, validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::core::session_rules::apply_release;
use crate::manifest::AttachmentManifest;
use crate::session_state::SessionState;

/// An ephemeral manifest in memory. Clones are handles to the same rows; the manifest of an
/// [`super::InMemoryAttachmentStore`] shares that store's tables.
#[derive(Clone, Debug, Default)]
pub struct InMemoryAttachmentManifest {
    tables: Arc<Tables>,
}

impl InMemoryAttachmentManifest {
    /// An empty manifest of its own.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn over(tables: Arc<Tables>) -> Self {
        Self { tables }
    }

    /// Makes every later call (all handles, and the store whose manifest this is) fail `Closed`.
    pub fn close(&self) {
        self.tables.close();
    }
}

#[async_trait(?Send)]
impl AttachmentManifest for InMemoryAttachmentManifest {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        intent.validate()?;
        self.tables.transaction(|tx| {
            let existing = tx.rows_of(&intent.attachment_id)?.into_iter().find(|row| row.session_id == intent.session_id);
            tx.put_row(apply_intent(existing.as_ref(), intent))
        })
    }

    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        self.commit_session(session_id, ids, None).await
    }

    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        self.tables.transaction(|tx| Ok(select_uncommitted(tx.all_rows()?, older_than_epoch_ms)))
    }

    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        self.tables.transaction(|tx| Ok(select_uncommitted_page(tx.all_rows()?, older_than_epoch_ms, after, limit)))
    }

    async fn count_uncommitted(&self, older_than_epoch_ms: i64) -> Result<u64> {
        self.tables.transaction(|tx| Ok(tx.all_rows()?.filter(|row| is_uncommitted_at(row, older_than_epoch_ms)).count() as u64))
    }

    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        self.tables.transaction(|tx| tx.delete_rows(attachment_id, session_id))
    }

    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        self.tables.transaction(|tx| tx.rows_of(attachment_id))
    }

    fn colocation(&self) -> Option<String> {
        Some(self.tables.colocation().to_owned())
    }

    async fn uncommitted_rows_of(&self, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
        self.tables.transaction(|tx| Ok(tx.rows_of_session(session_id)?.into_iter().filter(|row| !row.is_committed()).collect()))
    }

    async fn commit_session(&self, session_id: &str, ids: &[AttachmentId], state: Option<&SessionState>) -> Result<()> {
        validate_session_id(session_id)?;
        let now = now_epoch_ms();
        self.tables.transaction(|tx| {
            for id in ids {
                let existing = tx.rows_of(id)?.into_iter().find(|row| row.session_id == session_id);
                if let Some(committed) = existing.and_then(|row| apply_commit(&row, now)) {
                    tx.put_row(committed)?;
                }
            }
            match state {
                Some(state) => tx.put_state(session_id, state.snapshot()?),
                None => Ok(()),
            }
        })
    }

    async fn session_state(&self, session_id: &str) -> Result<Option<SessionState>> {
        validate_session_id(session_id)?;
        self.tables.transaction(|tx| tx.state(session_id)?.map(|state| state.snapshot()).transpose())
    }

    async fn release_session(&self, session_id: &str) -> Result<()> {
        validate_session_id(session_id)?;
        let now = now_epoch_ms();
        self.tables.transaction(|tx| {
            for row in tx.rows_of_session(session_id)? {
                tx.put_row(apply_release(&row, now))?;
            }
            tx.delete_state(session_id)
        })
    }
}
