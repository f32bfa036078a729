use std::rc::Rc;

use async_trait::async_trait;

use super::store::Shared;
use super::tables;
use crate::core::clock::now_epoch_ms;
use crate::core::error::Result;
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_commit, validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::core::session_rules::apply_release;
use crate::manifest::AttachmentManifest;
use crate::session_state::SessionState;

/// The manifest in a [`super::DurableObjectAttachmentStore`]'s storage (`store.manifest()`).
#[derive(Clone)]
pub struct DurableObjectAttachmentManifest {
    shared: Rc<Shared>,
}

impl DurableObjectAttachmentManifest {
    pub(crate) fn new(shared: Rc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait(?Send)]
impl AttachmentManifest for DurableObjectAttachmentManifest {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        intent.validate()?;
        self.shared.check_open()?;
        let (shared, intent) = (Rc::clone(&self.shared), intent.clone());
        self.shared.storage.transaction(async move |ops| tables::record_intent(&ops, &shared.keys, &intent).await).await
    }

    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        validate_session_id(session_id)?;
        self.shared.check_open()?;
        if ids.is_empty() {
            return Ok(());
        }
        self.commit_session(session_id, ids, None).await
    }

    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        self.list_uncommitted_page(older_than_epoch_ms, None, usize::MAX).await
    }

    /// One listing of the index of uncommitted rows (built first if rows predate it, checked
    /// once per store object).
    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        self.shared.check_open()?;
        if !self.shared.uncommitted_indexed.get() {
            let shared = Rc::clone(&self.shared);
            self.shared.storage.transaction(async move |ops| tables::ensure_uncommitted_index(&ops, &shared.keys).await).await?;
            self.shared.uncommitted_indexed.set(true);
        }
        tables::uncommitted_rows(&self.shared.storage.ops(), &self.shared.keys, older_than_epoch_ms, after, limit).await
    }

    /// Counted a page at a time, so the count holds no more than a page either.
    async fn count_uncommitted(&self, older_than_epoch_ms: i64) -> Result<u64> {
        let (mut count, mut after) = (0, None);
        loop {
            let page = self.list_uncommitted_page(older_than_epoch_ms, after.as_ref(), crate::SWEEP_PAGE_ROWS).await?;
            count += page.len() as u64;
            match page.into_iter().last() {
                Some(last) => after = Some(last),
                None => return Ok(count),
            }
        }
    }

    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        self.shared.check_open()?;
        let (shared, id, session) = (Rc::clone(&self.shared), attachment_id.clone(), session_id.map(str::to_owned));
        self.shared.storage.transaction(async move |ops| tables::delete_rows(&ops, &shared.keys, &id, session.as_deref()).await).await
    }

    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        self.shared.check_open()?;
        tables::rows_of(&self.shared.storage.ops(), &self.shared.keys, attachment_id).await
    }

    fn colocation(&self) -> Option<String> {
        Some(self.shared.colocation.clone())
    }

    async fn uncommitted_rows_of(&self, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
        self.shared.check_open()?;
        let mut rows = tables::session_rows(&self.shared.storage.ops(), &self.shared.keys, session_id).await?;
        rows.retain(|row| !row.is_committed());
        Ok(rows)
    }

    /// Stamps and state in one storage transaction.
    async fn commit_session(&self, session_id: &str, ids: &[AttachmentId], state: Option<&SessionState>) -> Result<()> {
        validate_session_id(session_id)?;
        self.shared.check_open()?;
        let now = now_epoch_ms();
        let (shared, session_id, ids, state) = (Rc::clone(&self.shared), session_id.to_owned(), ids.to_vec(), state.cloned());
        self.shared
            .storage
            .transaction(async move |ops| {
                for id in &ids {
                    let existing = tables::read_row(&ops, &shared.keys, &session_id, id).await?;
                    if let Some(committed) = existing.and_then(|row| apply_commit(&row, now)) {
                        tables::write_row(&ops, &shared.keys, None, &committed).await?;
                    }
                }
                match &state {
                    Some(state) => tables::write_state(&ops, &shared.keys, &session_id, state).await,
                    None => Ok(()),
                }
            })
            .await
    }

    async fn session_state(&self, session_id: &str) -> Result<Option<SessionState>> {
        validate_session_id(session_id)?;
        self.shared.check_open()?;
        tables::read_state(&self.shared.storage.ops(), &self.shared.keys, session_id).await
    }

    /// The session's rows released and its state deleted in one storage transaction.
    async fn release_session(&self, session_id: &str) -> Result<()> {
        validate_session_id(session_id)?;
        self.shared.check_open()?;
        let now = now_epoch_ms();
        let (shared, session_id) = (Rc::clone(&self.shared), session_id.to_owned());
        self.shared
            .storage
            .transaction(async move |ops| {
                for row in tables::session_rows(&ops, &shared.keys, &session_id).await? {
                    tables::write_row(&ops, &shared.keys, Some(&row), &apply_release(&row, now)).await?;
                }
                tables::delete_state(&ops, &shared.keys, &session_id).await
            })
            .await
    }
}
