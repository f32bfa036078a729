//! The session-scoped store: a view of a store that records intents for one session.

use std::sync::Mutex;

use async_trait::async_trait;

use crate::core::clock::now_epoch_ms;
use crate::core::error::Result;
use crate::core::id::{content_id, AttachmentId};
use crate::core::manifest_rules::{validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentRef, StoredAttachment};
use crate::core::sweep_rules::SweepStepOutcome;
use crate::manifest::AttachmentManifest;
use crate::store::{AttachmentStore, AttachmentStorePersistence};

/// A store for one session (one agent conversation): every `put` records the session's intent in
/// the manifest before the bytes land and remembers the id as pending until [`Self::commit`].
///
/// Over an IndexedDB store and its own manifest the intent, bytes and metadata are written in one
/// transaction; over anything else, intent first, then bytes.
pub struct SessionScopedAttachmentStore<S, M> {
    inner: S,
    manifest: M,
    session_id: String,
    pending: Mutex<Vec<AttachmentId>>,
}

impl<S: AttachmentStore, M: AttachmentManifest> SessionScopedAttachmentStore<S, M> {
    /// A view of `inner` that records intents in `manifest` as `session_id` (non-empty).
    pub fn new(inner: S, manifest: M, session_id: &str) -> Result<Self> {
        validate_session_id(session_id)?;
        Ok(Self { inner, manifest, session_id: session_id.to_owned(), pending: Mutex::default() })
    }

    /// The session this view writes as.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The manifest intents go to.
    pub fn manifest(&self) -> &M {
        &self.manifest
    }

    /// Commits every pending id (`commit_refs`), then marks them committed; returns them. Call it
    /// when the session has durably saved its own state that refers to the attachments.
    pub async fn commit(&self) -> Result<Vec<AttachmentId>> {
        let ids = self.pending_manifest_commit_ids();
        self.manifest.commit_refs(&self.session_id, &ids).await?;
        self.mark_manifest_committed(&ids);
        Ok(ids)
    }

    /// Puts through `write`, which stores bytes hashing to each of `ids` together with this
    /// session's intent for it (one intent per id, all stamped now), then remembers the ids as
    /// pending. Every way of putting (one or many, Rust slices or JavaScript buffers) goes through
    /// this one path.
    pub(crate) async fn put_many_via(
        &self,
        ids: Vec<AttachmentId>,
        write: impl AsyncFnOnce(&S, &M, &[AttachmentIntent]) -> Result<Vec<AttachmentRef>>,
    ) -> Result<Vec<AttachmentRef>> {
        let now = now_epoch_ms();
        let intents: Vec<AttachmentIntent> = ids.into_iter().map(|id| AttachmentIntent::new(id, self.session_id.clone(), now)).collect();
        let references = write(&self.inner, &self.manifest, &intents).await?;
        let mut pending = self.pending();
        for reference in &references {
            if !pending.contains(&reference.id) {
                pending.push(reference.id.clone());
            }
        }
        Ok(references)
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<AttachmentId>> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait(?Send)]
impl<S: AttachmentStore, M: AttachmentManifest> AttachmentStore for SessionScopedAttachmentStore<S, M> {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        let mut written = self
            .put_many_via(vec![content_id(bytes)], async |inner, manifest, intents| {
                Ok(vec![inner.put_with_intent(manifest, &intents[0], bytes, meta).await?])
            })
            .await?;
        Ok(written.remove(0))
    }

    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        self.inner.get(id).await
    }

    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        self.inner.head(id).await
    }

    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        self.inner.list().await
    }

    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        self.inner.delete(id).await
    }

    fn persistence(&self) -> AttachmentStorePersistence {
        self.inner.persistence()
    }

    fn pending_manifest_commit_ids(&self) -> Vec<AttachmentId> {
        self.pending().clone()
    }

    fn mark_manifest_committed(&self, ids: &[AttachmentId]) {
        self.pending().retain(|id| !ids.contains(id));
    }

    fn colocation(&self) -> Option<String> {
        self.inner.colocation()
    }

    async fn put_with_intent(
        &self,
        manifest: &dyn AttachmentManifest,
        intent: &AttachmentIntent,
        bytes: &[u8],
        meta: AttachmentCreateMeta,
    ) -> Result<AttachmentRef> {
        self.inner.put_with_intent(manifest, intent, bytes, meta).await
    }

    async fn reclaim_step(
        &self,
        manifest: &dyn AttachmentManifest,
        listed: &AttachmentManifestEntry,
        older_than_epoch_ms: i64,
    ) -> Result<SweepStepOutcome> {
        self.inner.reclaim_step(manifest, listed, older_than_epoch_ms).await
    }

    fn reclaim_batch_size(&self) -> usize {
        self.inner.reclaim_batch_size()
    }

    async fn reclaim_batch(
        &self,
        manifest: &dyn AttachmentManifest,
        listed: &[AttachmentManifestEntry],
        older_than_epoch_ms: i64,
    ) -> Result<Vec<SweepStepOutcome>> {
        self.inner.reclaim_batch(manifest, listed, older_than_epoch_ms).await
    }
}
