use std::sync::Arc;

use async_trait::async_trait;

use super::tables::{Stored, Tables, Tx};
use super::InMemoryAttachmentManifest;
use crate::core::clock::now_epoch_ms;
use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::{content_id, AttachmentId};
use crate::core::manifest_rules::{apply_intent, AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentMeta, AttachmentRef, StoredAttachment};
use crate::core::session_rules::{commit_ids, plan_commit, plan_discard};
use crate::core::sweep_rules::{plan_sweep_step, SweepStepOutcome};
use crate::manifest::AttachmentManifest;
use crate::session::SessionScopedAttachmentStore;
use crate::session_state::SessionState;
use crate::store::{commit_session_in_steps, reclaim_batch_in_steps, record_intents_in_steps, AttachmentStore, AttachmentStorePersistence};

/// An ephemeral store in memory. Clones are handles to the same data.
///
/// It carries its own [`InMemoryAttachmentManifest`] ([`Self::manifest`]) in the same tables, so
/// a session's put, a commit and each sweep step over the two happen at once, as one transaction.
#[derive(Clone, Debug, Default)]
pub struct InMemoryAttachmentStore {
    tables: Arc<Tables>,
}

/// Bytes to put whose SHA-256 is known; `copy` makes the copy to keep, called only when that
/// content is not stored yet (the JavaScript layer hashes while reading bytes in).
pub(crate) struct HashedPut<'a> {
    pub(crate) id: AttachmentId,
    pub(crate) byte_len: u64,
    pub(crate) meta: AttachmentCreateMeta,
    pub(crate) copy: Box<dyn FnOnce() -> Vec<u8> + 'a>,
}

impl<'a> HashedPut<'a> {
    fn of(bytes: &'a [u8], meta: AttachmentCreateMeta) -> Self {
        Self { id: content_id(bytes), byte_len: bytes.len() as u64, meta, copy: Box::new(|| bytes.to_vec()) }
    }
}

impl InMemoryAttachmentStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store whose every storage operation goes through `faults` first, so a test can
    /// fail any of them ([`crate::testing::faults`]).
    #[cfg(feature = "testing")]
    pub fn with_faults(faults: Arc<crate::testing::faults::FaultInjector>) -> Self {
        Self { tables: Arc::new(Tables::with_faults(faults)) }
    }

    /// The manifest that goes with this store (in the same tables).
    pub fn manifest(&self) -> InMemoryAttachmentManifest {
        InMemoryAttachmentManifest::over(Arc::clone(&self.tables))
    }

    /// A session-scoped view of this store and its manifest.
    pub fn session(&self, session_id: &str) -> Result<SessionScopedAttachmentStore<Self, InMemoryAttachmentManifest>> {
        SessionScopedAttachmentStore::new(self.clone(), self.manifest(), session_id)
    }

    /// Makes every later call on this store and its manifest (all handles) fail `Closed`.
    pub fn close(&self) {
        self.tables.close();
    }

    fn shares_tables_with(&self, manifest: &dyn AttachmentManifest) -> bool {
        manifest.colocation().as_deref() == Some(self.tables.colocation())
    }

    /// Stores `items`: plainly (`intents` is `None`: managed by no session), or for a session with
    /// one intent per item, recorded in the same transaction when `manifest` is this store's own,
    /// else first, in steps. All items land, or none.
    pub(crate) async fn put_hashed(&self, intents: Option<(&dyn AttachmentManifest, &[AttachmentIntent])>, items: Vec<HashedPut<'_>>) -> Result<Vec<AttachmentRef>> {
        let mut own_intents: &[AttachmentIntent] = &[];
        if let Some((manifest, intents)) = intents {
            if intents.len() != items.len() {
                return Err(AttachmentStoreError::invalid_input("one intent per item is needed"));
            }
            for (intent, item) in intents.iter().zip(&items) {
                intent.validate_for(&item.id)?;
            }
            if self.shares_tables_with(manifest) {
                own_intents = intents;
            } else {
                record_intents_in_steps(manifest, intents).await?;
            }
        }
        let plain = intents.is_none();
        self.tables.transaction(|tx| {
            for intent in own_intents {
                let existing = tx.rows_of(&intent.attachment_id)?.into_iter().find(|row| row.session_id == intent.session_id);
                tx.put_row(apply_intent(existing.as_ref(), intent))?;
            }
            items.into_iter().map(|item| put_in(tx, item, plain)).collect()
        })
    }

    /// `start..end` of `id` (`end` exclusive, clamped) as chunks copied out of wasm memory a
    /// piece at a time, with the metadata. `NotFound` up front.
    #[cfg(all(target_arch = "wasm32", feature = "js"))]
    pub(crate) fn read_body(&self, id: &AttachmentId, start: u64, end: Option<u64>) -> Result<(AttachmentMeta, crate::body::Body)> {
        let (meta, bytes) = self.get_shared(id)?;
        let range = crate::core::byte_range::ByteRange::within(start, end, meta.byte_len)?;
        Ok((meta, crate::body::Body::Chunks(Box::new(SharedChunks { bytes, at: range.start as usize, end: range.end as usize }))))
    }

    /// Metadata and the stored bytes themselves (shared, not copied).
    pub(crate) fn get_shared(&self, id: &AttachmentId) -> Result<(AttachmentMeta, Arc<Vec<u8>>)> {
        let stored = self.tables.transaction(|tx| Ok(tx.attachment(id)?.cloned()))?;
        let stored = stored.ok_or_else(|| AttachmentStoreError::not_found(id))?;
        Ok((stored.meta, stored.bytes))
    }
}

/// Writes one attachment: the bytes unless that content is stored already (same id, same bytes),
/// and the metadata (the last put's wins). A plain put marks it held; a session's put keeps the
/// mark a plain put left.
fn put_in(tx: &mut Tx<'_>, item: HashedPut<'_>, plain: bool) -> Result<AttachmentRef> {
    let reference = item.meta.into_ref(item.id, item.byte_len);
    let (bytes, held) = match tx.attachment(&reference.id)? {
        Some(existing) => (Arc::clone(&existing.bytes), existing.plain),
        None => (Arc::new((item.copy)()), false),
    };
    tx.put_attachment(Stored { meta: reference.clone(), bytes, plain: plain || held })?;
    Ok(reference)
}

#[async_trait(?Send)]
impl AttachmentStore for InMemoryAttachmentStore {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        let mut written = self.put_hashed(None, vec![HashedPut::of(bytes, meta)]).await?;
        written.pop().ok_or_else(|| AttachmentStoreError::backend("nothing was written"))
    }

    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        let (meta, bytes) = self.get_shared(id)?;
        Ok(StoredAttachment { meta, bytes: bytes.to_vec() })
    }

    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        self.tables.transaction(|tx| Ok(tx.attachment(id)?.map(|stored| stored.meta.clone())))
    }

    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        self.tables.transaction(|tx| tx.metas())
    }

    /// Bytes, metadata and every manifest row of the id, at once.
    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        self.tables.transaction(|tx| {
            tx.delete_attachment(id)?;
            tx.delete_rows(id, None)
        })
    }

    fn persistence(&self) -> AttachmentStorePersistence {
        AttachmentStorePersistence::Ephemeral
    }

    fn colocation(&self) -> Option<String> {
        Some(self.tables.colocation().to_owned())
    }

    async fn held_by_plain_put(&self, id: &AttachmentId) -> Result<bool> {
        self.tables.transaction(|tx| Ok(tx.attachment(id)?.is_some_and(|stored| stored.plain)))
    }

    async fn put_with_intent(&self, manifest: &dyn AttachmentManifest, intent: &AttachmentIntent, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        let mut written = self.put_hashed(Some((manifest, std::slice::from_ref(intent))), vec![HashedPut::of(bytes, meta)]).await?;
        written.pop().ok_or_else(|| AttachmentStoreError::backend("nothing was written"))
    }

    /// Rows read, bytes checked, stamps and state written at once over this store's own manifest.
    async fn commit_session(&self, manifest: &dyn AttachmentManifest, session_id: &str, pending: &[AttachmentId], state: Option<&SessionState>) -> Result<Vec<AttachmentId>> {
        if !self.shares_tables_with(manifest) {
            return commit_session_in_steps(self, manifest, session_id, pending, state).await;
        }
        crate::core::manifest_rules::validate_session_id(session_id)?;
        let now = now_epoch_ms();
        self.tables.transaction(|tx| {
            let rows = tx.rows_of_session(session_id)?;
            let ids = commit_ids(session_id, pending, &rows);
            let has_bytes = ids.iter().map(|id| Ok(tx.attachment(id)?.is_some())).collect::<Result<Vec<bool>>>()?;
            let plan = plan_commit(session_id, ids, &rows, &has_bytes, now);
            if !plan.is_whole() {
                return Err(AttachmentStoreError::missing(plan.missing));
            }
            for row in plan.stamped {
                tx.put_row(row)?;
            }
            if let Some(state) = state {
                tx.put_state(session_id, state.snapshot()?)?;
            }
            Ok(plan.ids)
        })
    }

    async fn discard(&self, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        if !self.shares_tables_with(manifest) {
            return crate::store::discard_in_steps(self, manifest, session_id, ids).await;
        }
        self.tables.transaction(|tx| {
            for id in ids {
                let held = tx.attachment(id)?.is_some_and(|stored| stored.plain);
                let plan = plan_discard(session_id, id, &tx.rows_of(id)?, held);
                if plan.forget_row {
                    tx.delete_rows(id, Some(session_id))?;
                }
                if plan.delete_bytes {
                    tx.delete_attachment(id)?;
                }
            }
            Ok(())
        })
    }

    async fn is_intact(&self, id: &AttachmentId) -> Result<bool> {
        Ok(match self.get_shared(id) {
            Ok((meta, bytes)) => content_id(&bytes) == meta.id && bytes.len() as u64 == meta.byte_len,
            Err(_) => true,
        })
    }

    /// Bytes and metadata go; the rows stay.
    async fn drop_damaged(&self, id: &AttachmentId) -> Result<()> {
        self.tables.transaction(|tx| tx.delete_attachment(id))
    }

    fn reclaim_batch_size(&self) -> usize {
        RECLAIM_BATCH
    }

    /// Re-check and deletes of the whole batch at once over this store's own manifest.
    async fn reclaim_batch(&self, manifest: &dyn AttachmentManifest, listed: &[AttachmentManifestEntry], older_than_epoch_ms: i64) -> Result<Vec<SweepStepOutcome>> {
        if !self.shares_tables_with(manifest) {
            return reclaim_batch_in_steps(self, manifest, listed, older_than_epoch_ms).await;
        }
        self.tables.transaction(|tx| {
            listed
                .iter()
                .map(|candidate| {
                    let id = &candidate.attachment_id;
                    let stored = tx.attachment(id)?.map(|stored| (stored.meta.byte_len, stored.plain));
                    let plan = plan_sweep_step(candidate, &tx.rows_of(id)?, older_than_epoch_ms, stored.is_some_and(|(_, plain)| plain));
                    for (session_id, row_id) in &plan.forget {
                        tx.delete_rows(row_id, Some(session_id))?;
                    }
                    let mut deleted_bytes = None;
                    if plan.delete_bytes {
                        deleted_bytes = stored.map(|(len, _)| len);
                        tx.delete_attachment(id)?;
                    }
                    Ok(SweepStepOutcome { reclaimed_rows: plan.forget.len() as u64, deleted_bytes })
                })
                .collect()
        })
    }
}

/// Sweep steps per transaction: every one holds the lock, so other callers wait at most this many.
const RECLAIM_BATCH: usize = 64;

/// Stored bytes handed out a piece at a time, each piece copied into JavaScript when asked for.
#[cfg(all(target_arch = "wasm32", feature = "js"))]
struct SharedChunks {
    bytes: Arc<Vec<u8>>,
    at: usize,
    end: usize,
}

#[cfg(all(target_arch = "wasm32", feature = "js"))]
#[async_trait(?Send)]
impl crate::body::ChunkSource for SharedChunks {
    async fn next_chunk(&mut self) -> Result<Option<js_sys::Uint8Array>> {
        const PIECE: usize = 1 << 20;
        if self.at >= self.end {
            return Ok(None);
        }
        let end = (self.at + PIECE).min(self.end);
        let chunk = js_sys::Uint8Array::from(&self.bytes[self.at..end]);
        self.at = end;
        Ok(Some(chunk))
    }
}
