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
use crate::session_state::SessionState;
use crate::store::{AttachmentStore, AttachmentStorePersistence};

/// A store for one session (one agent conversation): every `put` records the session's intent in
/// the manifest before the bytes land and remembers the id as pending until [`Self::commit`].
///
/// Over a store and its own manifest (IndexedDB, memory, Durable Object) the intent, bytes and
/// metadata are written in one transaction; over anything else, intent first, then bytes.
///
/// The view is cheap and need not live long: a commit covers the *session*, so a view made after a
/// reload (or in another tab or worker) commits what the session put before it.
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

    /// Commits the session: this view's pending ids and every uncommitted row the session has, in
    /// one transaction where the store and manifest share one ([`AttachmentStore::commit_session`]).
    /// Resolves with the ids, now kept; fails `NotFound` with [`crate::AttachmentStoreError::ids`]
    /// = the ids that are gone (a sweep reclaimed them, another tab deleted them), having written
    /// nothing. Those stay pending: put the same content again, or [`Self::discard`] them, then
    /// commit again. Call it when the session has saved its own state, or use
    /// [`Self::commit_with_state`] to save that state in the same transaction.
    pub async fn commit(&self) -> Result<Vec<AttachmentId>> {
        self.commit_covering(None).await
    }

    /// [`Self::commit`], saving `state` as the session's state in the same transaction: both land,
    /// or neither. Read it back with [`AttachmentManifest::session_state`].
    pub async fn commit_with_state(&self, state: SessionState) -> Result<Vec<AttachmentId>> {
        self.commit_covering(Some(&state)).await
    }

    async fn commit_covering(&self, state: Option<&SessionState>) -> Result<Vec<AttachmentId>> {
        let pending = self.pending_manifest_commit_ids();
        let ids = self.inner.commit_session(&self.manifest, &self.session_id, &pending, state).await?;
        self.mark_manifest_committed(&ids);
        Ok(ids)
    }

    /// Drops `ids` from pending and, in one transaction where the store and manifest share one,
    /// forgets this session's uncommitted rows of them and deletes their bytes unless another row
    /// of the attachment exists or a plain put holds it.
    pub async fn discard(&self, ids: &[AttachmentId]) -> Result<()> {
        self.mark_manifest_committed(ids);
        self.inner.discard(&self.manifest, &self.session_id, ids).await
    }

    /// The ids of the session's uncommitted rows, whichever view, page or worker put them (unlike
    /// [`AttachmentStore::pending_manifest_commit_ids`], this view's own list).
    pub async fn pending(&self) -> Result<Vec<AttachmentId>> {
        let mut ids: Vec<AttachmentId> = self.manifest.uncommitted_rows_of(&self.session_id).await?.into_iter().map(|row| row.attachment_id).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Whether the store and the manifest share one database (so the store's own writes keep
    /// the manifest's rows in step).
    fn colocated(&self) -> bool {
        self.manifest.colocation().is_some() && self.manifest.colocation() == self.inner.colocation()
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
        let mut pending = self.pending_ids();
        for reference in &references {
            if !pending.contains(&reference.id) {
                pending.push(reference.id.clone());
            }
        }
        Ok(references)
    }

    /// Puts through `write`, which hashes the bytes as they arrive and records this session's
    /// intent for them with them (the session id is passed to it); then remembers the id as
    /// pending. For bytes streamed in, whose id is known only at their end (Durable Objects).
    #[cfg(all(feature = "js", feature = "durable-object", target_arch = "wasm32"))]
    pub(crate) async fn put_unhashed_via(&self, write: impl AsyncFnOnce(&S, &M, &str) -> Result<AttachmentRef>) -> Result<AttachmentRef> {
        let reference = write(&self.inner, &self.manifest, &self.session_id).await?;
        let mut pending = self.pending_ids();
        if !pending.contains(&reference.id) {
            pending.push(reference.id.clone());
        }
        Ok(reference)
    }

    fn pending_ids(&self) -> std::sync::MutexGuard<'_, Vec<AttachmentId>> {
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

    async fn list_page(&self, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentRef>> {
        self.inner.list_page(after, limit).await
    }

    /// Deletes from the inner store, and the id's rows from this view's manifest when it is not the
    /// store's own (the store's own delete drops them there).
    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        self.inner.delete(id).await?;
        if !self.colocated() {
            self.manifest.forget(id, None).await?;
        }
        Ok(())
    }

    fn persistence(&self) -> AttachmentStorePersistence {
        self.inner.persistence()
    }

    fn pending_manifest_commit_ids(&self) -> Vec<AttachmentId> {
        self.pending_ids().clone()
    }

    fn mark_manifest_committed(&self, ids: &[AttachmentId]) {
        self.pending_ids().retain(|id| !ids.contains(id));
    }

    fn colocation(&self) -> Option<String> {
        self.inner.colocation()
    }

    async fn held_by_plain_put(&self, id: &AttachmentId) -> Result<bool> {
        self.inner.held_by_plain_put(id).await
    }

    async fn commit_session(&self, manifest: &dyn AttachmentManifest, session_id: &str, pending: &[AttachmentId], state: Option<&SessionState>) -> Result<Vec<AttachmentId>> {
        self.inner.commit_session(manifest, session_id, pending, state).await
    }

    async fn discard(&self, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        self.inner.discard(manifest, session_id, ids).await
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

    async fn reclaim_abandoned_uploads(&self, older_than_epoch_ms: i64) -> Result<u64> {
        self.inner.reclaim_abandoned_uploads(older_than_epoch_ms).await
    }

    async fn is_intact(&self, id: &AttachmentId) -> Result<bool> {
        self.inner.is_intact(id).await
    }

    async fn drop_damaged(&self, id: &AttachmentId) -> Result<()> {
        self.inner.drop_damaged(id).await
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
