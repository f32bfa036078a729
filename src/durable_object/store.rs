use std::cell::Cell;
use std::rc::Rc;

use async_trait::async_trait;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsValue;

use super::manifest::DurableObjectAttachmentManifest;
use super::storage::Storage;
use super::tables::{self, Keys};
use crate::body::{Body, ChunkSource};
use crate::core::byte_range::ByteRange;
use crate::core::clock::now_epoch_ms;
use crate::core::id::ContentHasher;
use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::{content_id, AttachmentId};
use crate::core::manifest_rules::{validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentMeta, AttachmentRef, StoredAttachment};
use crate::core::session_rules::{commit_ids, plan_commit, plan_discard};
use crate::core::sweep_rules::{plan_sweep_step, SweepStepOutcome};
use crate::manifest::AttachmentManifest;
use crate::session::SessionScopedAttachmentStore;
use crate::session_state::SessionState;
use crate::store::{commit_session_in_steps, discard_in_steps, reclaim_step_in_steps, record_intents_in_steps, AttachmentStore, AttachmentStorePersistence};

/// Chunks staged per transaction while a stream comes in (8 MiB).
const STAGED_PER_TRANSACTION: usize = 8;

/// A stored attachment's chunks read one storage call per chunk.
struct StoredChunks {
    shared: Rc<Shared>,
    stored: tables::StoredMeta,
    pieces: std::vec::IntoIter<(u64, u64, u64)>,
}

#[async_trait(?Send)]
impl ChunkSource for StoredChunks {
    async fn next_chunk(&mut self) -> Result<Option<Uint8Array>> {
        let Some((index, start, end)) = self.pieces.next() else { return Ok(None) };
        self.shared.check_open()?;
        let chunk = tables::read_chunk(&self.shared.storage.ops(), &self.shared.keys, &self.stored, index).await?;
        Ok(Some(Uint8Array::new(&chunk).slice(start as u32, end as u32)))
    }
}

/// What a store and its manifest share.
pub(crate) struct Shared {
    pub(crate) storage: Storage,
    pub(crate) keys: Keys,
    /// Names this store for [`AttachmentStore::colocation`]: only its own manifest shares it.
    pub(crate) colocation: String,
    closed: Cell<bool>,
    /// Whether this object's index of uncommitted rows is known to be built (every row write
    /// keeps it from then on), so listings stop checking its mark.
    pub(crate) uncommitted_indexed: Cell<bool>,
}

impl Shared {
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.get() {
            Err(AttachmentStoreError::closed())
        } else {
            Ok(())
        }
    }
}

/// A durable store in a Durable Object's storage. Clones share the same state.
#[derive(Clone)]
pub struct DurableObjectAttachmentStore {
    shared: Rc<Shared>,
}

impl DurableObjectAttachmentStore {
    /// A store over `storage` (a Durable Object's `ctx.storage`); `prefix` keeps several stores
    /// apart in one object (empty for one store).
    pub fn new(storage: JsValue, prefix: &str) -> Result<Self> {
        let storage = Storage::new(storage)?;
        // Each store object is its own colocation: two `new` calls over one storage may not
        // assume each other's transactions (a counter, not a float: no float formatting in wasm).
        static STORES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let colocation = format!("durable-object:{prefix}:{}", STORES.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        Ok(Self { shared: Rc::new(Shared { storage, keys: Keys::new(prefix), colocation, closed: Cell::new(false), uncommitted_indexed: Cell::new(false) }) })
    }

    /// The manifest in the same storage.
    pub fn manifest(&self) -> DurableObjectAttachmentManifest {
        DurableObjectAttachmentManifest::new(Rc::clone(&self.shared))
    }

    /// A session-scoped view whose puts write intent and bytes in one transaction.
    pub fn session(&self, session_id: &str) -> Result<SessionScopedAttachmentStore<Self, DurableObjectAttachmentManifest>> {
        SessionScopedAttachmentStore::new(self.clone(), self.manifest(), session_id)
    }

    /// Later calls (store and manifest) fail `Closed`. The storage itself belongs to the object.
    pub fn close(&self) {
        self.shared.closed.set(true);
    }

    /// Puts bytes that are already a JavaScript buffer hashing to `id`: a plain put (no sweep
    /// deletes what it stores).
    pub(crate) async fn put_buffer(&self, id: AttachmentId, bytes: &ArrayBuffer, meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.write(None, true, id, bytes, meta).await
    }

    /// A session's put: `intent` recorded in the same transaction when `manifest` is this store's
    /// own, else first, in steps.
    pub(crate) async fn put_buffer_with_intent(
        &self,
        manifest: &dyn AttachmentManifest,
        intent: &AttachmentIntent,
        id: AttachmentId,
        bytes: &ArrayBuffer,
        meta: AttachmentCreateMeta,
    ) -> Result<AttachmentRef> {
        intent.validate_for(&id)?;
        if manifest.colocation() != self.colocation() {
            record_intents_in_steps(manifest, std::slice::from_ref(intent)).await?;
            return self.write(None, false, id, bytes, meta).await;
        }
        self.write(Some(intent.clone()), false, id, bytes, meta).await
    }

    /// One transaction: the intent (if any), the bytes and the metadata.
    async fn write(&self, intent: Option<AttachmentIntent>, plain: bool, id: AttachmentId, bytes: &ArrayBuffer, meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.shared.check_open()?;
        let reference = meta.into_ref(id, u64::from(bytes.byte_length()));
        let (shared, written, bytes) = (Rc::clone(&self.shared), reference.clone(), bytes.clone());
        self.shared
            .storage
            .transaction(async move |ops| {
                if let Some(intent) = &intent {
                    tables::record_intent(&ops, &shared.keys, intent).await?;
                }
                tables::write_attachment(&ops, &shared.keys, &written, &bytes, plain).await
            })
            .await?;
        Ok(reference)
    }

    /// Metadata and bytes, the bytes as one fresh JavaScript buffer.
    pub(crate) async fn get_buffer(&self, id: &AttachmentId) -> Result<(AttachmentMeta, ArrayBuffer)> {
        self.shared.check_open()?;
        let ops = self.shared.storage.ops();
        let stored = tables::read_stored(&ops, &self.shared.keys, id).await?.ok_or_else(|| AttachmentStoreError::not_found(id))?;
        let bytes = tables::read_bytes(&ops, &self.shared.keys, &stored).await?;
        Ok((stored.meta, bytes))
    }

    /// `start..end` of `id` (`end` exclusive, clamped) as chunks read one storage call at a time,
    /// so a large attachment streams out in bounded memory. `NotFound` up front.
    pub async fn read_body(&self, id: &AttachmentId, start: u64, end: Option<u64>) -> Result<(AttachmentMeta, Body)> {
        self.shared.check_open()?;
        let stored = tables::read_stored(&self.shared.storage.ops(), &self.shared.keys, id).await?.ok_or_else(|| AttachmentStoreError::not_found(id))?;
        let range = ByteRange::within(start, end, stored.meta.byte_len)?;
        let pieces = range.in_chunks(u64::from(tables::CHUNK_BYTES)).into_iter();
        Ok((stored.meta.clone(), Body::Chunks(Box::new(StoredChunks { shared: Rc::clone(&self.shared), stored, pieces }))))
    }

    /// Stores what `source` yields as it arrives, hashed on the way, in bounded memory: chunks are
    /// staged under an upload key in as many transactions as needed, then one final transaction
    /// publishes the attachment (with `session`'s intent when given: bytes never exist without it;
    /// recorded first, in steps, when `manifest` is not this store's own). A failure or a crash
    /// part-way leaves only staged chunks, which the next sweep reclaims.
    pub(crate) async fn put_upload(
        &self,
        source: &mut dyn ChunkSource,
        meta: AttachmentCreateMeta,
        session: Option<(&dyn AttachmentManifest, &str)>,
    ) -> Result<AttachmentRef> {
        self.shared.check_open()?;
        static UPLOADS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let upload = format!("{}-{}-{}", now_epoch_ms(), UPLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed), (js_sys::Math::random() * 1e9) as u64);
        let (shared, began) = (Rc::clone(&self.shared), upload.clone());
        let now = now_epoch_ms();
        self.shared.storage.transaction(async move |ops| tables::begin_upload(&ops, &shared.keys, &began, now).await).await?;
        let outcome = self.stage_and_publish(source, &upload, meta, session).await;
        if outcome.is_err() {
            // Best effort: what a failure left, the next sweep reclaims anyway.
            let (shared, upload) = (Rc::clone(&self.shared), upload.clone());
            let _ = self.shared.storage.transaction(async move |ops| tables::delete_upload(&ops, &shared.keys, &upload).await).await;
        }
        outcome
    }

    async fn stage_and_publish(&self, source: &mut dyn ChunkSource, upload: &str, meta: AttachmentCreateMeta, session: Option<(&dyn AttachmentManifest, &str)>) -> Result<AttachmentRef> {
        let (id, byte_len) = self.stage(source, upload).await?;
        let reference = meta.into_ref(id.clone(), byte_len);
        let mut intent = None;
        if let Some((manifest, session_id)) = session {
            let wanted = AttachmentIntent::new(id, session_id, now_epoch_ms());
            if manifest.colocation() == self.colocation() {
                intent = Some(wanted);
            } else {
                record_intents_in_steps(manifest, std::slice::from_ref(&wanted)).await?;
            }
        }
        let (shared, written, upload) = (Rc::clone(&self.shared), reference.clone(), upload.to_owned());
        let plain = session.is_none();
        self.shared
            .storage
            .transaction(async move |ops| {
                if let Some(intent) = &intent {
                    tables::record_intent(&ops, &shared.keys, intent).await?;
                }
                tables::publish_upload(&ops, &shared.keys, &upload, &written, plain).await
            })
            .await?;
        Ok(reference)
    }

    /// Reads `source` into chunks of [`tables::CHUNK_BYTES`], staging [`STAGED_PER_TRANSACTION`]
    /// of them per transaction; returns the bytes' id and length.
    async fn stage(&self, source: &mut dyn ChunkSource, upload: &str) -> Result<(AttachmentId, u64)> {
        let chunk_bytes = tables::CHUNK_BYTES;
        let mut hasher = ContentHasher::new();
        let mut scratch = Vec::new();
        let (mut ready, mut next_index) = (Vec::new(), 0u64);
        // Buffers a staged transaction has stored (the storage copies values as it writes them):
        // reused, so a 100 MB upload churns through a handful of them, not a hundred.
        let mut spare: Vec<Uint8Array> = Vec::new();
        let mut filling = Uint8Array::new_with_length(chunk_bytes);
        let mut filled = 0u32;
        let flush = async |ready: &mut Vec<Uint8Array>, next_index: &mut u64, spare: &mut Vec<Uint8Array>| -> Result<()> {
            let (shared, upload, first) = (Rc::clone(&self.shared), upload.to_owned(), *next_index);
            let chunks = std::mem::take(ready);
            *next_index += chunks.len() as u64;
            let staged = chunks.clone();
            self.shared.storage.transaction(async move |ops| tables::stage_chunks(&ops, &shared.keys, &upload, first, &staged).await).await?;
            spare.extend(chunks.into_iter().filter(|chunk| chunk.length() == chunk_bytes));
            Ok(())
        };
        while let Some(chunk) = source.next_chunk().await? {
            let mut at = 0u32;
            while at < chunk.length() {
                let take = (chunk_bytes - filled).min(chunk.length() - at);
                let piece = chunk.subarray(at, at + take);
                crate::body::feed(&mut hasher, &piece, &mut scratch);
                filling.set(&piece, filled);
                (filled, at) = (filled + take, at + take);
                if filled == chunk_bytes {
                    let next = spare.pop().unwrap_or_else(|| Uint8Array::new_with_length(chunk_bytes));
                    ready.push(std::mem::replace(&mut filling, next));
                    filled = 0;
                    if ready.len() >= STAGED_PER_TRANSACTION {
                        flush(&mut ready, &mut next_index, &mut spare).await?;
                    }
                }
            }
        }
        // The last, partial chunk (an empty attachment still has its one empty chunk).
        if filled > 0 || (ready.is_empty() && next_index == 0) {
            ready.push(filling.slice(0, filled));
        }
        if !ready.is_empty() {
            flush(&mut ready, &mut next_index, &mut spare).await?;
        }
        let len = hasher.byte_len();
        Ok((hasher.finish(), len))
    }
}

#[async_trait(?Send)]
impl AttachmentStore for DurableObjectAttachmentStore {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.put_buffer(content_id(bytes), &Uint8Array::from(bytes).buffer(), meta).await
    }

    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        let (meta, bytes) = self.get_buffer(id).await?;
        Ok(StoredAttachment { meta, bytes: Uint8Array::new(&bytes).to_vec() })
    }

    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        self.shared.check_open()?;
        tables::read_meta(&self.shared.storage.ops(), &self.shared.keys, id).await
    }

    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        self.shared.check_open()?;
        tables::list_meta(&self.shared.storage.ops(), &self.shared.keys).await
    }

    /// One `list({ prefix, startAfter, limit })` call.
    async fn list_page(&self, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentRef>> {
        self.shared.check_open()?;
        tables::list_meta_page(&self.shared.storage.ops(), &self.shared.keys, after, limit).await
    }

    /// Bytes, metadata and every manifest row of the id, in one transaction.
    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        self.shared.check_open()?;
        let (shared, id) = (Rc::clone(&self.shared), id.clone());
        self.shared
            .storage
            .transaction(async move |ops| {
                tables::delete_attachment(&ops, &shared.keys, &id).await?;
                tables::delete_rows(&ops, &shared.keys, &id, None).await
            })
            .await
    }

    /// Read one chunk at a time and hashed.
    async fn is_intact(&self, id: &AttachmentId) -> Result<bool> {
        crate::body::body_is_intact(id, self.read_body(id, 0, None).await).await
    }

    /// Bytes and metadata, in one transaction; the manifest rows stay.
    async fn drop_damaged(&self, id: &AttachmentId) -> Result<()> {
        self.shared.check_open()?;
        let (shared, id) = (Rc::clone(&self.shared), id.clone());
        self.shared.storage.transaction(async move |ops| tables::delete_attachment(&ops, &shared.keys, &id).await).await
    }

    fn persistence(&self) -> AttachmentStorePersistence {
        AttachmentStorePersistence::Durable
    }

    fn colocation(&self) -> Option<String> {
        Some(self.shared.colocation.clone())
    }

    async fn put_with_intent(&self, manifest: &dyn AttachmentManifest, intent: &AttachmentIntent, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.put_buffer_with_intent(manifest, intent, content_id(bytes), &Uint8Array::from(bytes).buffer(), meta).await
    }

    async fn held_by_plain_put(&self, id: &AttachmentId) -> Result<bool> {
        self.shared.check_open()?;
        Ok(tables::read_meta_held(&self.shared.storage.ops(), &self.shared.keys, id).await?.is_some_and(|(_, plain)| plain))
    }

    /// Rows read, bytes checked, stamps and state written in one storage transaction when
    /// `manifest` is this store's own.
    async fn commit_session(&self, manifest: &dyn AttachmentManifest, session_id: &str, pending: &[AttachmentId], state: Option<&SessionState>) -> Result<Vec<AttachmentId>> {
        if manifest.colocation() != self.colocation() {
            return commit_session_in_steps(self, manifest, session_id, pending, state).await;
        }
        validate_session_id(session_id)?;
        self.shared.check_open()?;
        let now = now_epoch_ms();
        let (shared, session_id, pending, state) = (Rc::clone(&self.shared), session_id.to_owned(), pending.to_vec(), state.cloned());
        self.shared
            .storage
            .transaction(async move |ops| {
                let rows = tables::session_rows(&ops, &shared.keys, &session_id).await?;
                let ids = commit_ids(&session_id, &pending, &rows);
                let mut has_bytes = Vec::with_capacity(ids.len());
                for id in &ids {
                    has_bytes.push(tables::is_present(&ops, &shared.keys, id).await?);
                }
                let plan = plan_commit(&session_id, ids, &rows, &has_bytes, now);
                if !plan.is_whole() {
                    return Err(AttachmentStoreError::missing(plan.missing));
                }
                for row in &plan.stamped {
                    tables::write_row(&ops, &shared.keys, None, row).await?;
                }
                if let Some(state) = &state {
                    tables::write_state(&ops, &shared.keys, &session_id, state).await?;
                }
                Ok(plan.ids)
            })
            .await
    }

    /// One storage transaction when `manifest` is this store's own.
    async fn discard(&self, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        if manifest.colocation() != self.colocation() {
            return discard_in_steps(self, manifest, session_id, ids).await;
        }
        self.shared.check_open()?;
        let (shared, session_id, ids) = (Rc::clone(&self.shared), session_id.to_owned(), ids.to_vec());
        self.shared
            .storage
            .transaction(async move |ops| {
                for id in &ids {
                    let held = tables::read_meta_held(&ops, &shared.keys, id).await?.is_some_and(|(_, plain)| plain);
                    let plan = plan_discard(&session_id, id, &tables::rows_of(&ops, &shared.keys, id).await?, held);
                    if plan.forget_row {
                        tables::delete_rows(&ops, &shared.keys, id, Some(&session_id)).await?;
                    }
                    if plan.delete_bytes {
                        tables::delete_attachment(&ops, &shared.keys, id).await?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// Uploads begun by the threshold and never published (a crash or a dropped connection part-way)
    /// go, staged chunks and all, one transaction each.
    async fn reclaim_abandoned_uploads(&self, older_than_epoch_ms: i64) -> Result<u64> {
        self.shared.check_open()?;
        let abandoned = tables::abandoned_uploads(&self.shared.storage.ops(), &self.shared.keys, older_than_epoch_ms).await?;
        for upload in &abandoned {
            let (shared, upload) = (Rc::clone(&self.shared), upload.clone());
            self.shared.storage.transaction(async move |ops| tables::delete_upload(&ops, &shared.keys, &upload).await).await?;
        }
        Ok(abandoned.len() as u64)
    }

    /// Re-check and deletes in one transaction when `manifest` is this store's own.
    async fn reclaim_step(&self, manifest: &dyn AttachmentManifest, listed: &AttachmentManifestEntry, older_than_epoch_ms: i64) -> Result<SweepStepOutcome> {
        if manifest.colocation() != self.colocation() {
            return reclaim_step_in_steps(self, manifest, listed, older_than_epoch_ms).await;
        }
        self.shared.check_open()?;
        let (shared, listed) = (Rc::clone(&self.shared), listed.clone());
        self.shared
            .storage
            .transaction(async move |ops| {
                let id = &listed.attachment_id;
                let stored = tables::read_meta_held(&ops, &shared.keys, id).await?;
                let held = stored.as_ref().is_some_and(|(_, plain)| *plain);
                let plan = plan_sweep_step(&listed, &tables::rows_of(&ops, &shared.keys, id).await?, older_than_epoch_ms, held);
                let mut deleted_bytes = None;
                if plan.delete_bytes {
                    deleted_bytes = stored.map(|(meta, _)| meta.byte_len);
                    tables::delete_attachment(&ops, &shared.keys, id).await?;
                }
                for (session_id, row_id) in &plan.forget {
                    tables::delete_rows(&ops, &shared.keys, row_id, Some(session_id)).await?;
                }
                Ok(SweepStepOutcome { reclaimed_rows: plan.forget.len() as u64, deleted_bytes })
            })
            .await
    }
}
