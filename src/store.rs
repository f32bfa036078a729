//! The attachment store trait.

use async_trait::async_trait;

use crate::core::error::{ErrorCode, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentRef, StoredAttachment};
use crate::core::sweep_rules::{plan_sweep_step, SweepStepOutcome};
use crate::manifest::AttachmentManifest;

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
/// The five data methods are what a backend must provide. The two `*_with_*` / `reclaim_*` hooks
/// have correct but non-atomic defaults built from the others; a backend that keeps manifest and
/// bytes in one database overrides them to run in one transaction.
#[async_trait(?Send)]
pub trait AttachmentStore {
    /// Stores `bytes` under their SHA-256. Same bytes, same id, stored once; a repeat put keeps the
    /// bytes and replaces the metadata.
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef>;

    /// The attachment, or `NotFound`.
    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment>;

    /// The metadata only, without reading the bytes.
    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>>;

    /// Every stored attachment's metadata, ordered by id.
    async fn list(&self) -> Result<Vec<AttachmentRef>>;

    /// Deletes unconditionally; deleting what is absent is fine.
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

    /// Records `intent` in `manifest`, then puts the bytes. The default does it in two steps, so a
    /// crash in between leaves an intent without bytes (harmless: the sweep forgets it), never bytes
    /// without an intent.
    async fn put_with_intent(
        &self,
        manifest: &dyn AttachmentManifest,
        intent: &AttachmentIntent,
        bytes: &[u8],
        meta: AttachmentCreateMeta,
    ) -> Result<AttachmentRef> {
        put_with_intent_in_steps(self, manifest, intent, bytes, meta).await
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
        let plan = plan_sweep_step(listed, &current, older_than_epoch_ms);
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
