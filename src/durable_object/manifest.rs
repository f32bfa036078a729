use std::rc::Rc;

use async_trait::async_trait;

use super::store::Shared;
use super::tables;
use crate::core::clock::now_epoch_ms;
use crate::core::error::Result;
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_commit, select_uncommitted, validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::manifest::AttachmentManifest;

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
        let now = now_epoch_ms();
        let (shared, session_id, ids) = (Rc::clone(&self.shared), session_id.to_owned(), ids.to_vec());
        self.shared
            .storage
            .transaction(async move |ops| {
                for id in &ids {
                    let existing = tables::read_row(&ops, &shared.keys, &session_id, id).await?;
                    if let Some(committed) = existing.and_then(|row| apply_commit(&row, now)) {
                        tables::write_row(&ops, &shared.keys, &committed).await?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        self.shared.check_open()?;
        let rows = tables::all_rows(&self.shared.storage.ops(), &self.shared.keys).await?;
        Ok(select_uncommitted(&rows, older_than_epoch_ms))
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
}
