use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::Lifetime;
use crate::core::clock::now_epoch_ms;
use crate::core::error::Result;
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_commit, apply_intent, select_uncommitted, sort_rows, validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::manifest::AttachmentManifest;

// A hash map, not a B-tree: the wasm already carries one map type (the sweep's), and every
// ordered answer is sorted where it is built.
type Rows = HashMap<(String, AttachmentId), AttachmentManifestEntry>;

/// An ephemeral manifest in memory. Clones are handles to the same rows.
#[derive(Clone, Debug, Default)]
pub struct InMemoryAttachmentManifest {
    rows: Arc<Mutex<Rows>>,
    lifetime: Lifetime,
}

impl InMemoryAttachmentManifest {
    /// An empty manifest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call (all handles) fail `Closed`.
    pub fn close(&self) {
        self.lifetime.close();
    }

    fn rows(&self) -> Result<MutexGuard<'_, Rows>> {
        self.lifetime.check_open()?;
        Ok(self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

#[async_trait(?Send)]
impl AttachmentManifest for InMemoryAttachmentManifest {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        intent.validate()?;
        let mut rows = self.rows()?;
        let key = (intent.session_id.clone(), intent.attachment_id.clone());
        let row = apply_intent(rows.get(&key), intent);
        rows.insert(key, row);
        Ok(())
    }

    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        validate_session_id(session_id)?;
        let now = now_epoch_ms();
        let mut rows = self.rows()?;
        for id in ids {
            let key = (session_id.to_owned(), id.clone());
            if let Some(committed) = rows.get(&key).and_then(|row| apply_commit(row, now)) {
                rows.insert(key, committed);
            }
        }
        Ok(())
    }

    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        Ok(select_uncommitted(self.rows()?.values(), older_than_epoch_ms))
    }

    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        let mut rows = self.rows()?;
        rows.retain(|(session, id), _| id != attachment_id || session_id.is_some_and(|only| only != session));
        Ok(())
    }

    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        let mut rows: Vec<_> = self.rows()?.values().filter(|row| &row.attachment_id == attachment_id).cloned().collect();
        sort_rows(&mut rows, &|a, b| a.session_id.cmp(&b.session_id));
        Ok(rows)
    }
}
