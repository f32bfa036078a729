use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::{InMemoryAttachmentManifest, Lifetime};
use crate::core::error::Result;
use crate::core::id::{content_id, AttachmentId};
use crate::core::meta::{AttachmentCreateMeta, AttachmentMeta, AttachmentRef, StoredAttachment};
use crate::session::SessionScopedAttachmentStore;
use crate::store::{AttachmentStore, AttachmentStorePersistence};

// A hash map, not a B-tree: the wasm already carries one map type; `list` sorts. Bytes are an
// `Arc<Vec<u8>>` so bytes copied in once (from JavaScript too) are kept without another copy.
type Entries = HashMap<AttachmentId, (AttachmentMeta, Arc<Vec<u8>>)>;

/// An ephemeral store in memory. Clones are handles to the same data.
///
/// It carries its own [`InMemoryAttachmentManifest`] ([`Self::manifest`]) so it offers the same
/// `session` shortcut as the IndexedDB store.
#[derive(Clone, Debug, Default)]
pub struct InMemoryAttachmentStore {
    entries: Arc<Mutex<Entries>>,
    manifest: InMemoryAttachmentManifest,
    lifetime: Lifetime,
}

impl InMemoryAttachmentStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The manifest that goes with this store.
    pub fn manifest(&self) -> InMemoryAttachmentManifest {
        self.manifest.clone()
    }

    /// A session-scoped view of this store and its manifest.
    pub fn session(&self, session_id: &str) -> Result<SessionScopedAttachmentStore<Self, InMemoryAttachmentManifest>> {
        SessionScopedAttachmentStore::new(self.clone(), self.manifest(), session_id)
    }

    /// Makes every later call on this store (all its handles) fail `Closed`.
    pub fn close(&self) {
        self.lifetime.close();
    }

    /// Stores bytes already known to hash to `id` (the JavaScript layer hashes while reading
    /// them in); `bytes` makes the copy to keep, only when that content is not stored yet.
    pub(crate) fn put_hashed(&self, id: AttachmentId, byte_len: u64, meta: AttachmentCreateMeta, bytes: impl FnOnce() -> Vec<u8>) -> Result<AttachmentRef> {
        let reference = meta.into_ref(id.clone(), byte_len);
        let mut entries = self.entries()?;
        let stored_bytes = match entries.get(&id) {
            Some((_, existing)) => Arc::clone(existing),
            None => Arc::new(bytes()),
        };
        entries.insert(id, (reference.clone(), stored_bytes));
        Ok(reference)
    }

    /// Metadata and the stored bytes themselves (shared, not copied).
    pub(crate) fn get_shared(&self, id: &AttachmentId) -> Result<(AttachmentMeta, Arc<Vec<u8>>)> {
        let entries = self.entries()?;
        let (meta, bytes) = entries.get(id).ok_or_else(|| crate::AttachmentStoreError::not_found(id))?;
        Ok((meta.clone(), Arc::clone(bytes)))
    }

    fn entries(&self) -> Result<MutexGuard<'_, Entries>> {
        self.lifetime.check_open()?;
        // A panic while holding the lock cannot leave the map half-written (each change is one
        // insert or remove), so a poisoned lock is still consistent.
        Ok(self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

#[async_trait(?Send)]
impl AttachmentStore for InMemoryAttachmentStore {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.put_hashed(content_id(bytes), bytes.len() as u64, meta, || bytes.to_vec())
    }

    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        let (meta, bytes) = self.get_shared(id)?;
        Ok(StoredAttachment { meta, bytes: bytes.to_vec() })
    }

    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        Ok(self.entries()?.get(id).map(|(meta, _)| meta.clone()))
    }

    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        let mut list: Vec<_> = self.entries()?.values().map(|(meta, _)| meta.clone()).collect();
        list.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(list)
    }

    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        self.entries()?.remove(id);
        Ok(())
    }

    fn persistence(&self) -> AttachmentStorePersistence {
        AttachmentStorePersistence::Ephemeral
    }
}
