//! The attachment store trait.

use async_trait::async_trait;

use crate::core::clock::now_epoch_ms;
use crate::core::error::{AttachmentStoreError, ErrorCode, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentRef, StoredAttachment};
use crate::core::session_rules::{commit_ids, plan_commit, plan_discard};
use crate::core::sweep_rules::{plan_sweep_step, SweepStepOutcome};
use crate::manifest::AttachmentManifest;
use crate::session_state::SessionState;

/// Whether a store's data outlives the page or process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttachmentStorePersistence {
    /// Kept across reloads and restarts (IndexedDB).
    Durable,
    /// Gone with the process (memory).
    Ephemeral,
}

impl AttachmentStorePersistence {
    /// `"durable"` or `"ephemeral"`, as JavaScript sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Durable => "durable",
            Self::Ephemeral => "ephemeral",
        }
    }
}

/// A content-addressed attachment store: bytes keyed by their SHA-256, with metadata beside them.
///
/// The five data methods are what a backend must provide. The hooks after them (puts with an
/// intent, commits, discards, sweep steps) have correct but non-atomic defaults built from the
/// others; a backend that keeps manifest and bytes in one database overrides them to run in one
/// transaction.
#[async_trait(?Send)]
pub trait AttachmentStore {
    /// Stores `bytes` under their SHA-256. Same bytes, same id, stored once; a repeat put keeps the
    /// bytes and replaces the metadata.
    ///
    /// A *plain* put: what it stores is managed by no session, and no sweep deletes it (also when a
    /// session later intends the same content and never commits it); only [`Self::delete`] does.
    /// Sessions put through [`Self::put_with_intent`].
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef>;

    /// The attachment, or `NotFound`.
    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment>;

    /// The metadata only, without reading the bytes.
    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>>;

    /// Every stored attachment's metadata, ordered by id.
    async fn list(&self) -> Result<Vec<AttachmentRef>>;

    /// A page of [`Self::list`]: the attachments whose ids sort after `after` (all, without it),
    /// at most `limit` of them, ordered by id. The next page starts after the last id of this one.
    /// The default filters the whole list; backends that can read just the page do.
    async fn list_page(&self, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentRef>> {
        let mut page = self.list().await?;
        if let Some(after) = after {
            page.retain(|reference| reference.id > *after);
        }
        page.truncate(limit.unwrap_or(usize::MAX));
        Ok(page)
    }

    /// Deletes unconditionally; deleting what is absent is fine. Backends with a manifest of their
    /// own also drop every row of the id there, in the same write.
    async fn delete(&self, id: &AttachmentId) -> Result<()>;

    /// Whether the data outlives the page.
    fn persistence(&self) -> AttachmentStorePersistence;

    /// Ids put through this store whose manifest rows are not yet committed (session-scoped stores;
    /// empty for plain ones).
    fn pending_manifest_commit_ids(&self) -> Vec<AttachmentId> {
        Vec::new()
    }

    /// Forgets `ids` from the pending list once their rows are committed.
    fn mark_manifest_committed(&self, _ids: &[AttachmentId]) {}

    /// Names the database this store lives in when it can share a transaction with a manifest in
    /// the same database (`indexeddb:<name>`). Equal names let the hooks below run atomically.
    fn colocation(&self) -> Option<String> {
        None
    }

    /// Whether a plain put ([`Self::put`]) holds `id`'s bytes, so that no sweep or discard may
    /// delete them. Asked by the step-wise defaults; backends that know it answer inside their own
    /// transactions instead. The default (a store that cannot tell) says no.
    async fn held_by_plain_put(&self, _id: &AttachmentId) -> Result<bool> {
        Ok(false)
    }

    /// Records `intent` in `manifest`, then puts the bytes. The default does it in two steps, so a
    /// crash in between leaves an intent without bytes (harmless: the sweep forgets it), never bytes
    /// without an intent. Its second step is a [`Self::put`]: a store that remembers plain puts
    /// overrides this, so that a session's bytes stay sweepable.
    async fn put_with_intent(
        &self,
        manifest: &dyn AttachmentManifest,
        intent: &AttachmentIntent,
        bytes: &[u8],
        meta: AttachmentCreateMeta,
    ) -> Result<AttachmentRef> {
        put_with_intent_in_steps(self, manifest, intent, bytes, meta).await
    }

    /// Commits `session_id` (contract §8): covers `pending` (a view's own ids) and every
    /// uncommitted row the session has in `manifest`; checks that each still has the session's row
    /// and its bytes; then stamps them all and saves `state` when given. If any is gone, nothing is
    /// written and it fails `NotFound` with [`AttachmentStoreError::ids`] = the missing ids.
    /// Resolves with the ids covered ([`crate::core::session_rules::commit_ids`]).
    ///
    /// The default checks, then stamps through `manifest.commit_session` (not atomic: a sweep may
    /// land in between); backends sharing one database with `manifest` do it in one transaction.
    async fn commit_session(
        &self,
        manifest: &dyn AttachmentManifest,
        session_id: &str,
        pending: &[AttachmentId],
        state: Option<&SessionState>,
    ) -> Result<Vec<AttachmentId>> {
        commit_session_in_steps(self, manifest, session_id, pending, state).await
    }

    /// Discards `ids` of `session_id`: forgets the session's uncommitted rows of them and deletes
    /// their bytes unless another row of the attachment exists or a plain put holds it
    /// ([`crate::core::session_rules::plan_discard`]). The default works id by id through the
    /// traits; backends sharing one database with `manifest` do it in one transaction.
    async fn discard(&self, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        discard_in_steps(self, manifest, session_id, ids).await
    }

    /// Whether `id`'s stored bytes are whole and hash to it (for [`crate::verify_attachments`]).
    /// `false` also when the engine reports their data lost (`Corrupt`) or its metadata cannot be
    /// read back; an attachment deleted
    /// meanwhile counts as intact (there is nothing to remove). The default reads it with `get`,
    /// whole; backends read it in bounded memory.
    async fn is_intact(&self, id: &AttachmentId) -> Result<bool> {
        match self.get(id).await {
            Ok(stored) => Ok(crate::core::id::content_id(&stored.bytes) == *id && stored.bytes.len() as u64 == stored.meta.byte_len),
            Err(error) if matches!(error.code(), ErrorCode::Corrupt | ErrorCode::MetadataDecode | ErrorCode::MissingMeta) => Ok(false),
            Err(error) if error.code() == ErrorCode::NotFound => Ok(true),
            Err(error) => Err(error),
        }
    }

    /// Removes a damaged attachment's bytes and metadata, keeping its manifest rows (their
    /// commits stand; a put of the same content heals it). The default deletes it.
    async fn drop_damaged(&self, id: &AttachmentId) -> Result<()> {
        self.delete(id).await
    }

    /// Reclaims uploads begun at or before `older_than_epoch_ms` and never finished (bytes staged
    /// by a streamed put that crashed or was cut off part-way); returns how many. The sweep calls
    /// it after its rows. The default: a store that stages nothing has none.
    async fn reclaim_abandoned_uploads(&self, _older_than_epoch_ms: i64) -> Result<u64> {
        Ok(0)
    }

    /// How many listed rows [`Self::reclaim_batch`] takes at once. 1 (the default) is a step per
    /// row; backends that can re-check and delete many rows in one transaction say more.
    fn reclaim_batch_size(&self) -> usize {
        1
    }

    /// Sweep steps for consecutive listed rows (at most [`Self::reclaim_batch_size`]), one outcome
    /// per row. The default runs [`Self::reclaim_step`] for each.
    async fn reclaim_batch(
        &self,
        manifest: &dyn AttachmentManifest,
        listed: &[AttachmentManifestEntry],
        older_than_epoch_ms: i64,
    ) -> Result<Vec<SweepStepOutcome>> {
        let mut outcomes = Vec::with_capacity(listed.len());
        for row in listed {
            outcomes.push(self.reclaim_step(manifest, row, older_than_epoch_ms).await?);
        }
        Ok(outcomes)
    }

    /// One sweep step for `listed`: re-reads that attachment's rows, then forgets rows and deletes
    /// the bytes as [`plan_sweep_step`] decides. The default is not atomic across manifest and
    /// store; backends sharing one database override it with a single transaction.
    async fn reclaim_step(
        &self,
        manifest: &dyn AttachmentManifest,
        listed: &AttachmentManifestEntry,
        older_than_epoch_ms: i64,
    ) -> Result<SweepStepOutcome> {
        reclaim_step_in_steps(self, manifest, listed, older_than_epoch_ms).await
    }
}

/// A sweep batch as one step-wise [`reclaim_step_in_steps`] per row: for stores whose manifest is
/// not in their own database.
pub(crate) async fn reclaim_batch_in_steps<S: AttachmentStore + ?Sized>(
    store: &S,
    manifest: &dyn AttachmentManifest,
    listed: &[AttachmentManifestEntry],
    older_than_epoch_ms: i64,
) -> Result<Vec<SweepStepOutcome>> {
    let mut outcomes = Vec::with_capacity(listed.len());
    for row in listed {
        outcomes.push(reclaim_step_in_steps(store, manifest, row, older_than_epoch_ms).await?);
    }
    Ok(outcomes)
}

/// The default [`AttachmentStore::put_with_intent`]: intent first, then bytes, in two steps.
pub(crate) async fn put_with_intent_in_steps<S: AttachmentStore + ?Sized>(
    store: &S,
    manifest: &dyn AttachmentManifest,
    intent: &AttachmentIntent,
    bytes: &[u8],
    meta: AttachmentCreateMeta,
) -> Result<AttachmentRef> {
    record_intents_in_steps(manifest, std::slice::from_ref(intent)).await?;
    store.put(bytes, meta).await
}

/// The default [`AttachmentStore::reclaim_step`], through the traits' own methods (not atomic).
pub(crate) async fn reclaim_step_in_steps<S: AttachmentStore + ?Sized>(
    store: &S,
    manifest: &dyn AttachmentManifest,
    listed: &AttachmentManifestEntry,
    older_than_epoch_ms: i64,
) -> Result<SweepStepOutcome> {
        let current = manifest.entries_for(&listed.attachment_id).await?;
        let plan = plan_sweep_step(listed, &current, older_than_epoch_ms, store.held_by_plain_put(&listed.attachment_id).await?);
        let mut deleted_bytes = None;
        if plan.delete_bytes {
            deleted_bytes = store.head(&listed.attachment_id).await?.map(|meta| meta.byte_len);
        }
        for (session_id, attachment_id) in &plan.forget {
            manifest.forget(attachment_id, Some(session_id)).await?;
        }
        if plan.delete_bytes {
            store.delete(&listed.attachment_id).await?;
        }
        Ok(SweepStepOutcome { reclaimed_rows: plan.forget.len() as u64, deleted_bytes })
}

/// The default [`AttachmentStore::commit_session`]: reads the rows, checks the bytes with `head`,
/// then stamps (and saves the state) through `manifest.commit_session`. Not atomic.
pub(crate) async fn commit_session_in_steps<S: AttachmentStore + ?Sized>(
    store: &S,
    manifest: &dyn AttachmentManifest,
    session_id: &str,
    pending: &[AttachmentId],
    state: Option<&SessionState>,
) -> Result<Vec<AttachmentId>> {
    let mut rows = manifest.uncommitted_rows_of(session_id).await?;
    for id in pending {
        if !rows.iter().any(|row| &row.attachment_id == id) {
            rows.extend(manifest.entries_for(id).await?.into_iter().filter(|row| row.session_id == session_id));
        }
    }
    let ids = commit_ids(session_id, pending, &rows);
    let mut has_bytes = Vec::with_capacity(ids.len());
    for id in &ids {
        has_bytes.push(store.head(id).await?.is_some());
    }
    let plan = plan_commit(session_id, ids, &rows, &has_bytes, now_epoch_ms());
    if !plan.is_whole() {
        return Err(AttachmentStoreError::missing(plan.missing));
    }
    manifest.commit_session(session_id, &plan.ids, state).await?;
    Ok(plan.ids)
}

/// The default [`AttachmentStore::discard`], id by id through the traits (not atomic).
pub(crate) async fn discard_in_steps<S: AttachmentStore + ?Sized>(store: &S, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
    for id in ids {
        let rows = manifest.entries_for(id).await?;
        let plan = plan_discard(session_id, id, &rows, store.held_by_plain_put(id).await?);
        if plan.forget_row {
            manifest.forget(id, Some(session_id)).await?;
        }
        if plan.delete_bytes {
            store.delete(id).await?;
        }
    }
    Ok(())
}

/// Records `intents` one by one, the step-wise half of a put with intents (for stores that cannot
/// share a transaction with the manifest): intents land before any bytes do.
pub(crate) async fn record_intents_in_steps(manifest: &dyn AttachmentManifest, intents: &[AttachmentIntent]) -> Result<()> {
    for intent in intents {
        manifest.record_intent(intent).await.map_err(intent_failure)?;
    }
    Ok(())
}

/// A failed intent write is `ManifestRecordFailed`, unless its own code says more (the caller's
/// input, a closed store, a full disk).
pub(crate) fn intent_failure(error: crate::AttachmentStoreError) -> crate::AttachmentStoreError {
    match error.code() {
        ErrorCode::InvalidInput | ErrorCode::Closed | ErrorCode::QuotaExceeded => error,
        _ => error.with_code(ErrorCode::ManifestRecordFailed).context("recording the intent failed"),
    }
}

/// A borrowed store is a store: a session view can be made over `&store`, leaving the caller the
/// store itself (the conformance suite sweeps and deletes beside its sessions this way).
#[async_trait(?Send)]
impl<S: AttachmentStore + ?Sized> AttachmentStore for &S {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        S::put(self, bytes, meta).await
    }
    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        S::get(self, id).await
    }
    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        S::head(self, id).await
    }
    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        S::list(self).await
    }
    async fn list_page(&self, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentRef>> {
        S::list_page(self, after, limit).await
    }
    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        S::delete(self, id).await
    }
    fn persistence(&self) -> AttachmentStorePersistence {
        S::persistence(self)
    }
    fn pending_manifest_commit_ids(&self) -> Vec<AttachmentId> {
        S::pending_manifest_commit_ids(self)
    }
    fn mark_manifest_committed(&self, ids: &[AttachmentId]) {
        S::mark_manifest_committed(self, ids)
    }
    fn colocation(&self) -> Option<String> {
        S::colocation(self)
    }
    async fn held_by_plain_put(&self, id: &AttachmentId) -> Result<bool> {
        S::held_by_plain_put(self, id).await
    }
    async fn put_with_intent(&self, manifest: &dyn AttachmentManifest, intent: &AttachmentIntent, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        S::put_with_intent(self, manifest, intent, bytes, meta).await
    }
    async fn commit_session(&self, manifest: &dyn AttachmentManifest, session_id: &str, pending: &[AttachmentId], state: Option<&SessionState>) -> Result<Vec<AttachmentId>> {
        S::commit_session(self, manifest, session_id, pending, state).await
    }
    async fn discard(&self, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        S::discard(self, manifest, session_id, ids).await
    }
    fn reclaim_batch_size(&self) -> usize {
        S::reclaim_batch_size(self)
    }
    async fn reclaim_abandoned_uploads(&self, older_than_epoch_ms: i64) -> Result<u64> {
        S::reclaim_abandoned_uploads(self, older_than_epoch_ms).await
    }
    async fn is_intact(&self, id: &AttachmentId) -> Result<bool> {
        S::is_intact(self, id).await
    }
    async fn drop_damaged(&self, id: &AttachmentId) -> Result<()> {
        S::drop_damaged(self, id).await
    }
    async fn reclaim_batch(&self, manifest: &dyn AttachmentManifest, listed: &[AttachmentManifestEntry], older_than_epoch_ms: i64) -> Result<Vec<SweepStepOutcome>> {
        S::reclaim_batch(self, manifest, listed, older_than_epoch_ms).await
    }
    async fn reclaim_step(&self, manifest: &dyn AttachmentManifest, listed: &AttachmentManifestEntry, older_than_epoch_ms: i64) -> Result<SweepStepOutcome> {
        S::reclaim_step(self, manifest, listed, older_than_epoch_ms).await
    }
}
