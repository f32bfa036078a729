use std::rc::Rc;

use async_trait::async_trait;

use super::idb::{Database, Mode};
use super::schema::{MANIFEST, SESSIONS};
use super::tables;
use super::tombstones::LeftUncommitted;
use crate::core::clock::now_epoch_ms;
use crate::core::error::Result;
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_commit, validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::core::session_rules::apply_release;
use crate::manifest::AttachmentManifest;
use crate::session_state::SessionState;

/// The manifest in an [`super::IndexedDbAttachmentStore`]'s database (get it with
/// `store.manifest()`); shares the store's connection.
#[derive(Clone)]
pub struct IndexedDbAttachmentManifest {
    db: Rc<Database>,
}

impl IndexedDbAttachmentManifest {
    pub(crate) fn new(db: Rc<Database>) -> Self {
        Self { db }
    }

    /// Closes the shared connection (the store's too); later calls fail `Closed`.
    pub fn close(&self) {
        self.db.close();
    }
}

#[async_trait(?Send)]
impl AttachmentManifest for IndexedDbAttachmentManifest {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        intent.validate()?;
        self.db.run(&[MANIFEST], Mode::Write, async |tx| tables::record_intents(tx, std::slice::from_ref(intent)).await).await
    }

    /// Written with strict durability: a commit is the promise that the attachment is kept.
    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        validate_session_id(session_id)?;
        self.db.check_open()?;
        if ids.is_empty() {
            return Ok(());
        }
        self.commit_session(session_id, ids, None).await
    }

    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        self.db.read(&[MANIFEST], async |tx| tables::uncommitted_rows(tx, older_than_epoch_ms, None, None).await).await
    }

    /// One `getAll(range, limit)` on the index of uncommitted rows.
    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        let limit = u32::try_from(limit).unwrap_or(u32::MAX).max(1);
        self.db.read(&[MANIFEST], async |tx| tables::uncommitted_rows(tx, older_than_epoch_ms, after, Some(limit)).await).await
    }

    async fn count_uncommitted(&self, older_than_epoch_ms: i64) -> Result<u64> {
        self.db.read(&[MANIFEST], async |tx| tables::count_uncommitted(tx, older_than_epoch_ms).await).await
    }

    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        self.db.run(&[MANIFEST], Mode::Free, async |tx| tables::delete_rows(tx, attachment_id, session_id).await).await
    }

    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        self.db.read(&[MANIFEST], async |tx| tables::rows_of(tx, attachment_id).await).await
    }

    fn colocation(&self) -> Option<String> {
        Some(format!("indexeddb:{}", self.db.name()))
    }

    async fn uncommitted_rows_of(&self, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
        let mut rows = self.db.read(&[MANIFEST], async |tx| tables::session_rows(tx, session_id).await).await?;
        rows.retain(|row| !row.is_committed());
        Ok(rows)
    }

    /// Stamps and state in one `strict` transaction.
    async fn commit_session(&self, session_id: &str, ids: &[AttachmentId], state: Option<&SessionState>) -> Result<()> {
        validate_session_id(session_id)?;
        let now = now_epoch_ms();
        self.db
            .run(&[MANIFEST, SESSIONS], Mode::WriteStrict, async |tx| {
                let existing: Vec<_> = ids.iter().map(|id| tables::request_row(tx, session_id, id)).collect::<Result<_>>()?;
                let mut stamped = Vec::with_capacity(existing.len());
                for existing in existing {
                    let Some(row) = tables::decode_row(existing.await?)? else { continue };
                    if let Some(committed) = apply_commit(&row, now) {
                        tables::write_row(tx, &committed)?;
                        stamped.push(row);
                    }
                }
                if let Some(state) = state {
                    tables::write_state(tx, session_id, state)?;
                }
                LeftUncommitted::of(&stamped).clear(tx)
            })
            .await
    }

    async fn session_state(&self, session_id: &str) -> Result<Option<SessionState>> {
        validate_session_id(session_id)?;
        self.db.read(&[SESSIONS], async |tx| tables::read_state(tx, session_id).await).await
    }

    /// The session's rows released and its state deleted in one `strict` transaction.
    async fn release_session(&self, session_id: &str) -> Result<()> {
        validate_session_id(session_id)?;
        let now = now_epoch_ms();
        self.db
            .run(&[MANIFEST, SESSIONS], Mode::WriteStrict, async |tx| {
                let rows = tables::session_rows(tx, session_id).await?;
                for row in &rows {
                    tables::write_row(tx, &apply_release(row, now))?;
                }
                tables::delete_state(tx, session_id)?;
                LeftUncommitted::of(&rows).clear(tx)
            })
            .await
    }
}
