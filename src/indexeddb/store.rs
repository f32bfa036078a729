use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use async_trait::async_trait;

use super::idb::{delete_database, DataLoss, Database, Mode, Tx};
use super::manifest::IndexedDbAttachmentManifest;
use super::schema::{self, BYTES, MANIFEST, META, PROBE_STORE, SESSIONS};
use super::tables;
use super::tombstones::LeftUncommitted;
use crate::core::clock::now_epoch_ms;
use crate::core::error::{AttachmentStoreError, ErrorCode, Result};
use crate::core::id::{content_id, AttachmentId};
use crate::core::manifest_rules::{validate_session_id, AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentMeta, AttachmentRef, StoredAttachment};
use crate::core::session_rules::{commit_ids, plan_commit, plan_discard};
use crate::core::sweep_rules::{plan_sweep_batch, sessions_wholly_forgotten, stretch_holds_only, SweepPlan, SweepStepOutcome};
use crate::manifest::AttachmentManifest;
use crate::session::SessionScopedAttachmentStore;
use crate::session_state::SessionState;
use crate::store::{commit_session_in_steps, discard_in_steps, reclaim_batch_in_steps, record_intents_in_steps, AttachmentStore, AttachmentStorePersistence};
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::body::{blob_of, body_is_intact, damaged, hash_js_buffer, read_blob, Body, Bytes, VerifiedChunks, ViewChunks};
use crate::core::byte_range::ByteRange;

/// The database name [`IndexedDbAttachmentStore::open`] uses by default in the JavaScript API.
pub const DEFAULT_DATABASE_NAME: &str = "web-attachments";

/// A durable store in IndexedDB. Clones share one connection; [`Self::manifest`] lives in the same
/// database and shares it too.
#[derive(Clone)]
pub struct IndexedDbAttachmentStore {
    db: Rc<Database>,
    bare: Rc<BareIds>,
    blobs: Rc<BlobSupport>,
    verify_reads: bool,
}

/// Options of [`IndexedDbAttachmentStore::open_with`].
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions {
    /// Whether large bytes put as a Blob, File or stream are stored as `Blob` values. `None` (the
    /// default): where a probe shows the engine keeps Blobs reliably (WebKit has had bugs storing
    /// them). `Some(false)` forces chunked `ArrayBuffer`s, as version 3 stored everything.
    pub store_blobs: Option<bool>,
    /// Whether every read checks that the bytes hash to their id before it returns them (a stream
    /// errors at its end), so a disk that damaged them (Firefox hands damaged bytes back without an
    /// error) never passes them off as good. Damaged bytes are then removed, as
    /// [`crate::verify_attachments`] would: a put of the same content heals them. Costs a hash per
    /// read (and a whole extra read for a range or a Blob). Default `false`.
    pub verify_reads: bool,
}

/// Whether the page runs in WebKit (Safari, WebKitGTK), by `navigator.vendor`: Chromium says
/// "Google Inc.", Firefox "", WebKit "Apple Computer, Inc.".
fn is_webkit() -> bool {
    let navigator = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    js_sys::Reflect::get(&navigator, &"vendor".into()).ok().and_then(|vendor| vendor.as_string()).is_some_and(|vendor| vendor.starts_with("Apple"))
}

/// Whether this connection stores large Blobs as Blobs: forced, or probed once (at the first put
/// that would store one, so that opening stays fast) and remembered.
#[derive(Default)]
struct BlobSupport(Cell<Option<bool>>);

/// Ids this connection has seen stored bare (over 64 KiB, see [`tables::stored_with_meta`]): a get
/// of one reads its metadata alongside its bytes instead of after them (a round trip, 8% of a
/// 1 MiB get). An id names its bytes, so whether they are bare never changes and nothing needs
/// invalidating. Only a hint: ids are kept as their first 64 bits (sorted), and a false match
/// merely reads a metadata row that is not needed.
#[derive(Default)]
struct BareIds(RefCell<Vec<u64>>);

impl BareIds {
    /// 64 KiB of hints; past that the set starts over.
    const LIMIT: usize = 8192;

    fn key(id: &AttachmentId) -> u64 {
        u64::from_str_radix(&id.as_str()[..16], 16).unwrap_or_default()
    }

    fn contains(&self, id: &AttachmentId) -> bool {
        self.0.borrow().binary_search(&Self::key(id)).is_ok()
    }

    fn remember(&self, id: &AttachmentId, byte_len: u64) {
        if tables::stored_with_meta_len(byte_len) {
            return;
        }
        let key = Self::key(id);
        let mut keys = self.0.borrow_mut();
        if let Err(at) = keys.binary_search(&key) {
            if keys.len() >= Self::LIMIT {
                keys.clear();
                keys.push(key);
            } else {
                keys.insert(at, key);
            }
        }
    }
}

impl IndexedDbAttachmentStore {
    /// Opens (creating or upgrading) database `name`. Works in windows and workers.
    pub async fn open(name: &str) -> Result<Self> {
        Self::open_with(name, OpenOptions::default()).await
    }

    /// [`Self::open`] with options.
    pub async fn open_with(name: &str, options: OpenOptions) -> Result<Self> {
        let db = Database::open(name, schema::VERSION, schema::upgrade).await?;
        Ok(Self { db, bare: Rc::default(), blobs: Rc::new(BlobSupport(Cell::new(options.store_blobs))), verify_reads: options.verify_reads })
    }

    /// What the engine said if, opening this database, it found it damaged and discarded
    /// everything in it (Chromium: `dataLoss: "total"`): the store is empty, not new. `None` else.
    pub fn data_loss(&self) -> Option<DataLoss> {
        self.db.data_loss()
    }

    /// Closes the connection underneath the store without telling it, as an engine does when its
    /// storage process dies: the next call meets the engine's own "connection is closing" error
    /// and must reopen by itself. For tests of that recovery.
    #[cfg(feature = "testing")]
    pub fn sever_connection(&self) {
        self.db.sever();
    }

    /// Whether reads check the hash ([`OpenOptions::verify_reads`]).
    pub fn verifies_reads(&self) -> bool {
        self.verify_reads
    }

    /// Whether large Blobs are stored as Blobs on this connection (probing once if not known).
    pub async fn stores_blobs(&self) -> bool {
        if let Some(known) = self.blobs.0.get() {
            return known;
        }
        let reliable = self.probe_blobs().await;
        self.blobs.0.set(Some(reliable));
        reliable
    }

    /// Writes a small Blob into the probe store, reads it back in another transaction and compares
    /// its bytes: anything else (a refused write, an unreadable or wrong Blob) means "no". WebKit is
    /// "no" whatever the probe says: on a full disk it commits Blob records whose files stay empty,
    /// and reads them back whole until they are read from disk (measured by the fault lab: 0 bytes
    /// of 512 KiB, the put and a read right after it successful), which no probe can see.
    async fn probe_blobs(&self) -> bool {
        if is_webkit() {
            return false;
        }
        const PROBE: &[u8] = b"web-attachments blob probe";
        let Ok(blob) = blob_of(&[Uint8Array::from(PROBE).into()], "application/octet-stream") else { return false };
        let key = JsValue::from_str("blob");
        let written = self.db.run(&[PROBE_STORE], Mode::Write, async |tx| tx.store(PROBE_STORE)?.put(&blob, Some(&key))).await;
        let read = match written {
            Ok(()) => self.db.read(&[PROBE_STORE], async |tx| tx.store(PROBE_STORE)?.get(&key).await).await,
            Err(error) => Err(error),
        };
        let cleared = self.db.run(&[PROBE_STORE], Mode::Write, async |tx| tx.store(PROBE_STORE)?.delete(&key)).await;
        let Ok(back) = read.and_then(|back| back.dyn_into::<web_sys::Blob>().map_err(|_| AttachmentStoreError::backend("not a Blob"))) else { return false };
        let bytes = JsFuture::from(back.array_buffer()).await;
        cleared.is_ok() && bytes.is_ok_and(|bytes| Uint8Array::new(&bytes).to_vec() == PROBE)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        self.db.name()
    }

    /// The manifest in the same database.
    pub fn manifest(&self) -> IndexedDbAttachmentManifest {
        IndexedDbAttachmentManifest::new(Rc::clone(&self.db))
    }

    /// A session-scoped view whose puts write intent, bytes and metadata in one transaction.
    pub fn session(&self, session_id: &str) -> Result<SessionScopedAttachmentStore<Self, IndexedDbAttachmentManifest>> {
        SessionScopedAttachmentStore::new(self.clone(), self.manifest(), session_id)
    }

    /// Closes the connection for every handle (and the manifest); later calls fail `Closed`.
    pub fn close(&self) {
        self.db.close();
    }

    /// Deletes database `name` with everything in it. Open connections to it are closed first
    /// (ours close themselves on the request).
    pub async fn delete_database(name: &str) -> Result<()> {
        delete_database(name).await
    }

    fn shares_database_with(&self, manifest: &dyn AttachmentManifest) -> bool {
        manifest.colocation() == self.colocation()
    }

    /// Puts bytes that are already JavaScript `ArrayBuffer`s (exact length, held by no one else)
    /// and whose SHA-256 each item names, so they never need to enter wasm memory. All items land
    /// in one transaction, or none do.
    ///
    /// Without `intents` it is a plain put (no sweep deletes what it stores). With them (one per
    /// item) it is a session's put: each intent is recorded first, in the same transaction when
    /// the manifest is in this database, so bytes never exist without an intent row; else in
    /// steps, intents before bytes.
    pub(crate) async fn put_buffers(&self, intents: Option<(&dyn AttachmentManifest, &[AttachmentIntent])>, items: Vec<BufferPut>) -> Result<Vec<AttachmentRef>> {
        let Some((manifest, intents)) = intents else {
            return self.write_buffers(None, items).await;
        };
        if intents.len() != items.len() {
            return Err(AttachmentStoreError::invalid_input("one intent per item is needed"));
        }
        for (intent, item) in intents.iter().zip(&items) {
            intent.validate_for(&item.id)?;
        }
        if self.shares_database_with(manifest) {
            self.write_buffers(Some(intents), items).await
        } else {
            record_intents_in_steps(manifest, intents).await?;
            self.write_buffers(Some(&[]), items).await
        }
    }

    /// Writes `items` in one transaction: plainly (`session` is `None`), or for a session, with
    /// the intents given recorded alongside. A session's put keeps the mark a plain put left on
    /// the same content, so it reads the stored metadata first.
    async fn write_buffers(&self, session: Option<&[AttachmentIntent]>, items: Vec<BufferPut>) -> Result<Vec<AttachmentRef>> {
        // Blobs become buffers (before the transaction: reading a Blob would end it) where they are
        // small, or where this engine does not keep Blobs.
        let mut written: Vec<(AttachmentRef, Bytes)> = Vec::with_capacity(items.len());
        for item in items {
            let bytes = match item.bytes {
                Bytes::Blob(blob) if tables::stored_with_meta_len(blob.size() as u64) || !self.stores_blobs().await => Bytes::Buffer(read_blob(&blob).await?),
                // Stored with its media type, so reads can hand it back as it is.
                Bytes::Blob(blob) if blob.type_() != item.meta.media_type.as_str() => {
                    Bytes::Blob(typed_slice(&blob, ByteRange::whole(blob.size() as u64), item.meta.media_type.as_str())?)
                }
                other => other,
            };
            written.push((item.meta.into_ref(item.id, bytes.byte_len()), bytes));
        }
        let stores: &[&'static str] = if session.is_some() { &[MANIFEST, BYTES, META] } else { &[BYTES, META] };
        self.db
            .run(stores, Mode::Write, async |tx| {
                let Some(intents) = session else {
                    return written.iter().try_for_each(|(reference, bytes)| tables::write_attachment(tx, reference, bytes, true));
                };
                let stored: Vec<_> = written.iter().map(|(reference, _)| tables::request_meta(tx, &reference.id)).collect::<Result<_>>()?;
                tables::record_intents(tx, intents).await?;
                for ((reference, bytes), stored) in written.iter().zip(stored) {
                    let held = tables::decode_meta_held(stored.await?)?.is_some_and(|(_, plain)| plain);
                    tables::write_attachment(tx, reference, bytes, held)?;
                }
                Ok(())
            })
            .await?;
        for (reference, _) in &written {
            self.bare.remember(&reference.id, reference.byte_len);
        }
        Ok(written.into_iter().map(|(reference, _)| reference).collect())
    }

    async fn put_one(&self, intent: Option<(&dyn AttachmentManifest, &AttachmentIntent)>, item: BufferPut) -> Result<AttachmentRef> {
        let intents = intent.map(|(manifest, intent)| (manifest, std::slice::from_ref(intent)));
        let mut written = self.put_buffers(intents, vec![item]).await?;
        written.pop().ok_or_else(|| AttachmentStoreError::backend("nothing was written"))
    }

    /// The bytes of `start..end` (`end` exclusive, clamped to the length) of `id`, with its
    /// metadata, read without holding them all: the stored Blob sliced (read when the caller reads
    /// it), or chunks read one transaction at a time. `NotFound` up front.
    ///
    /// With [`OpenOptions::verify_reads`], all of `id`'s chunks are checked as they pass (the last
    /// read fails `Corrupt`); a range or a stored Blob (handed out as it is) is checked whole first.
    pub async fn read_body(&self, id: &AttachmentId, start: u64, end: Option<u64>) -> Result<(AttachmentMeta, Body)> {
        let (meta, body) = self.read_stored_body(id, start, end).await?;
        if !self.verify_reads {
            return Ok((meta, body));
        }
        let whole = ByteRange::within(start, end, meta.byte_len)? == ByteRange::whole(meta.byte_len);
        match body {
            Body::Chunks(chunks) if whole => {
                let verified = VerifiedChunks::new(chunks, id, meta.byte_len, Box::new(self.clone()));
                Ok((meta, Body::Chunks(Box::new(verified))))
            }
            body => {
                if !self.is_intact(id).await? {
                    self.drop_damaged(id).await?;
                    return Err(damaged(id));
                }
                Ok((meta, body))
            }
        }
    }

    /// [`Self::read_body`] as stored, unchecked.
    async fn read_stored_body(&self, id: &AttachmentId, start: u64, end: Option<u64>) -> Result<(AttachmentMeta, Body)> {
        let known_bare = self.bare.contains(id);
        let Some((meta, first)) = self.db.read(&[BYTES, META], async |tx| tables::read_first(tx, id, known_bare).await).await? else {
            return Err(AttachmentStoreError::not_found(id));
        };
        let meta = meta.ok_or_else(|| AttachmentStoreError::new(ErrorCode::MissingMeta, format!("attachment {id} has bytes but no metadata")))?;
        if !known_bare {
            self.bare.remember(id, meta.byte_len);
        }
        let range = ByteRange::within(start, end, meta.byte_len)?;
        let in_view = |buffer: &ArrayBuffer| Uint8Array::new(buffer).subarray(range.start as u32, range.end as u32);
        let body = match first {
            // As stored when it is wanted whole and typed right (slicing costs the engine a round
            // trip); else a slice, typed.
            tables::FirstRecord::Blob(blob) if range == ByteRange::whole(meta.byte_len) && blob.type_() == meta.media_type.as_str() => Body::Blob(blob),
            tables::FirstRecord::Blob(blob) => Body::Blob(typed_slice(&blob, range, meta.media_type.as_str())?),
            tables::FirstRecord::Small(buffer) => Body::Chunks(Box::new(ViewChunks::new(in_view(&buffer), u32::MAX))),
            tables::FirstRecord::Bare(buffer) if meta.byte_len <= u64::from(buffer.byte_length()) => {
                Body::Chunks(Box::new(ViewChunks::new(in_view(&buffer), STREAM_PIECE)))
            }
            tables::FirstRecord::Bare(_) => Body::Chunks(Box::new(StoredChunks {
                db: Rc::clone(&self.db),
                id: id.clone(),
                pieces: range.in_chunks(u64::from(tables::CHUNK_BYTES)).into_iter(),
            })),
        };
        Ok((meta, body))
    }

    /// Metadata and bytes, the bytes as the engine's fresh `ArrayBuffer` (no copy into wasm).
    pub(crate) async fn get_buffer(&self, id: &AttachmentId) -> Result<(AttachmentMeta, ArrayBuffer)> {
        let known_bare = self.bare.contains(id);
        match self.db.read(&[BYTES, META], async |tx| tables::read_attachment(tx, id, known_bare).await).await? {
            Some((Some(meta), bytes)) => {
                if !known_bare {
                    self.bare.remember(id, meta.byte_len);
                }
                let bytes = match bytes {
                    Bytes::Buffer(buffer) => buffer,
                    // Read after the transaction, as one whole read.
                    Bytes::Blob(blob) => read_blob(&blob).await?,
                };
                if self.verify_reads && (u64::from(bytes.byte_length()) != meta.byte_len || hash_js_buffer(&bytes).await? != *id) {
                    self.drop_damaged(id).await?;
                    return Err(damaged(id));
                }
                Ok((meta, bytes))
            }
            Some((None, _)) => Err(AttachmentStoreError::new(ErrorCode::MissingMeta, format!("attachment {id} has bytes but no metadata"))),
            None => Err(AttachmentStoreError::not_found(id)),
        }
    }
}

#[async_trait(?Send)]
impl AttachmentStore for IndexedDbAttachmentStore {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.put_one(None, BufferPut::copy_of(bytes, meta)).await
    }

    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        let (meta, bytes) = self.get_buffer(id).await?;
        Ok(StoredAttachment { meta, bytes: js_sys::Uint8Array::new(&bytes).to_vec() })
    }

    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        self.db.read(&[META], async |tx| tables::read_meta(tx, id).await).await
    }

    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        self.db.read(&[META], async |tx| tables::list_meta(tx).await).await
    }

    /// One `getAll` over the metadata store, from just after `after`, of at most `limit` rows.
    async fn list_page(&self, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentRef>> {
        self.db.read(&[META], async |tx| tables::list_meta_page(tx, after, limit).await).await
    }

    /// Bytes, metadata and every manifest row of the id, in one transaction.
    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        self.db
            .run(&[MANIFEST, BYTES, META], Mode::Free, async |tx| {
                tables::delete_attachment(tx, id, None)?;
                tables::delete_rows(tx, id, None).await
            })
            .await
    }

    fn persistence(&self) -> AttachmentStorePersistence {
        AttachmentStorePersistence::Durable
    }

    fn colocation(&self) -> Option<String> {
        Some(format!("indexeddb:{}", self.db.name()))
    }

    /// Intent, bytes and metadata in one transaction when `manifest` is in this database, so bytes
    /// never exist without an intent row.
    async fn put_with_intent(
        &self,
        manifest: &dyn AttachmentManifest,
        intent: &AttachmentIntent,
        bytes: &[u8],
        meta: AttachmentCreateMeta,
    ) -> Result<AttachmentRef> {
        self.put_one(Some((manifest, intent)), BufferPut::copy_of(bytes, meta)).await
    }

    async fn held_by_plain_put(&self, id: &AttachmentId) -> Result<bool> {
        let stored = self.db.read(&[META], async |tx| tables::decode_meta_held(tables::request_meta(tx, id)?.await?)).await?;
        Ok(stored.is_some_and(|(_, plain)| plain))
    }

    /// Rows read, bytes checked, stamps and state written in one `strict` transaction when
    /// `manifest` is in this database: a sweep or delete from another connection lands wholly
    /// before (and the commit rejects) or after (and finds the rows committed).
    async fn commit_session(&self, manifest: &dyn AttachmentManifest, session_id: &str, pending: &[AttachmentId], state: Option<&SessionState>) -> Result<Vec<AttachmentId>> {
        if !self.shares_database_with(manifest) {
            return commit_session_in_steps(self, manifest, session_id, pending, state).await;
        }
        validate_session_id(session_id)?;
        let now = now_epoch_ms();
        self.db
            .run(&[MANIFEST, BYTES, META, SESSIONS], Mode::WriteStrict, async |tx| {
                let rows = tables::session_rows(tx, session_id).await?;
                let ids = commit_ids(session_id, pending, &rows);
                let checks: Vec<_> = ids.iter().map(|id| tables::request_presence(tx, id)).collect::<Result<_>>()?;
                let mut has_bytes = Vec::with_capacity(checks.len());
                for check in checks {
                    has_bytes.push(tables::decode_present(check).await?);
                }
                let plan = plan_commit(session_id, ids, &rows, &has_bytes, now);
                if !plan.is_whole() {
                    return Err(AttachmentStoreError::missing(plan.missing));
                }
                for row in &plan.stamped {
                    tables::write_row(tx, row)?;
                }
                if let Some(state) = state {
                    tables::write_state(tx, session_id, state)?;
                }
                LeftUncommitted::of(&rows).clear(tx)?;
                Ok(plan.ids)
            })
            .await
    }

    /// One transaction over manifest, bytes and metadata when `manifest` is in this database.
    async fn discard(&self, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        if !self.shares_database_with(manifest) {
            return discard_in_steps(self, manifest, session_id, ids).await;
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.db
            .run(&[MANIFEST, BYTES, META], Mode::Free, async |tx| {
                let reads: Vec<_> = ids.iter().map(|id| Ok((tables::request_rows_of(tx, id)?, tables::request_meta(tx, id)?))).collect::<Result<_>>()?;
                let mut forgotten = Vec::new();
                for (id, (rows, stored)) in ids.iter().zip(reads) {
                    let rows = tables::decode_rows(rows.await?)?;
                    let stored = tables::decode_meta_held(stored.await?)?;
                    let plan = plan_discard(session_id, id, &rows, stored.as_ref().is_some_and(|(_, plain)| *plain));
                    if plan.forget_row {
                        tables::delete_row(tx, session_id, id)?;
                        forgotten.extend(rows.into_iter().filter(|row| row.session_id == session_id));
                    }
                    if plan.delete_bytes {
                        tables::delete_attachment(tx, id, stored.map(|(meta, _)| meta.byte_len))?;
                    }
                }
                LeftUncommitted::of(&forgotten).clear(tx)
            })
            .await
    }

    /// Read as stored (a Blob through its stream, chunks one transaction at a time) and hashed.
    async fn is_intact(&self, id: &AttachmentId) -> Result<bool> {
        body_is_intact(id, self.read_stored_body(id, 0, None).await).await
    }

    /// Bytes (every chunk) and metadata in one transaction; the manifest rows stay.
    async fn drop_damaged(&self, id: &AttachmentId) -> Result<()> {
        self.db.run(&[BYTES, META], Mode::Free, async |tx| tables::delete_attachment(tx, id, None)).await
    }

    fn reclaim_batch_size(&self) -> usize {
        RECLAIM_BATCH
    }

    async fn reclaim_step(&self, manifest: &dyn AttachmentManifest, listed: &AttachmentManifestEntry, older_than_epoch_ms: i64) -> Result<SweepStepOutcome> {
        let mut outcomes = self.reclaim_batch(manifest, std::slice::from_ref(listed), older_than_epoch_ms).await?;
        outcomes.pop().ok_or_else(|| AttachmentStoreError::backend("no sweep outcome"))
    }

    /// Re-check and deletes for the whole batch in one transaction over manifest, bytes and
    /// metadata when `manifest` is in this database: a put or commit from another connection lands
    /// either before (and is seen) or after (and finds no bytes to lose). The rows are read first,
    /// all at once (`SweepRead`), and the steps planned from them ([`plan_sweep_batch`]).
    async fn reclaim_batch(&self, manifest: &dyn AttachmentManifest, listed: &[AttachmentManifestEntry], older_than_epoch_ms: i64) -> Result<Vec<SweepStepOutcome>> {
        if !self.shares_database_with(manifest) {
            return reclaim_batch_in_steps(self, manifest, listed, older_than_epoch_ms).await;
        }
        self.db
            .run(&[MANIFEST, BYTES, META], Mode::Free, async |tx| {
                let mut ids: Vec<AttachmentId> = listed.iter().map(|row| row.attachment_id.clone()).collect();
                ids.sort_unstable();
                ids.dedup();
                let SweepRead { mut rows_by_id, mut stored, stretch } = SweepRead::of(tx, &ids).await?;
                let held = |id: &AttachmentId| stored.get(id).is_some_and(|found| found.is_some_and(|(_, plain)| plain));
                let plans = plan_sweep_batch(listed, &mut rows_by_id, older_than_epoch_ms, &held);
                let ranges = match &stretch {
                    Some(read) => read.delete_ranges(tx, listed, &plans)?,
                    None => RangeDeletes::default(),
                };
                let outcomes = delete_planned(tx, listed, plans, &mut stored, &ranges)?;
                // The batch's span, where most of what it forgot was; rows of other sessions
                // forgotten beyond it lie in a later batch's span.
                LeftUncommitted::of(listed).clear(tx)?;
                Ok(outcomes)
            })
            .await
    }
}

/// Issues a sweep batch's per-item deletes, those `ranges` did not cover.
fn delete_planned(tx: &Tx, listed: &[AttachmentManifestEntry], plans: Vec<SweepPlan>, stored: &mut HashMap<AttachmentId, Option<(u64, bool)>>, ranges: &RangeDeletes) -> Result<Vec<SweepStepOutcome>> {
    listed
        .iter()
        .zip(plans)
        .map(|(row, plan)| {
            let mut deleted_bytes = None;
            if plan.delete_bytes {
                deleted_bytes = stored.get_mut(&row.attachment_id).and_then(Option::take).map(|(len, _)| len);
                if !ranges.attachments {
                    tables::delete_attachment(tx, &row.attachment_id, deleted_bytes)?;
                }
            }
            for (session_id, id) in plan.forget.iter().filter(|(session_id, _)| !ranges.sessions.contains(session_id)) {
                tables::delete_row(tx, session_id, id)?;
            }
            Ok(SweepStepOutcome { reclaimed_rows: plan.forget.len() as u64, deleted_bytes })
        })
        .collect()
}

/// What a sweep batch reads, inside its transaction, before planning: every manifest row, and the
/// stored length of each of its attachments with whether a plain put holds it.
struct SweepRead {
    rows_by_id: HashMap<AttachmentId, Vec<AttachmentManifestEntry>>,
    /// `(byte_len, plain)`; `None` for an attachment without metadata (nothing to delete or count).
    stored: HashMap<AttachmentId, Option<(u64, bool)>>,
    /// For a batch read as one stretch of ids: what is stored there, beyond the batch too.
    stretch: Option<StretchRead>,
}

/// What a stretch holds, so deletes may cover it (or a session's part of it) as key ranges.
struct StretchRead {
    stretch: tables::IdStretch,
    /// Every id with metadata or bytes stored in the stretch; `None` if a key names no attachment.
    stored_ids: Option<Vec<AttachmentId>>,
    /// Every manifest row in the stretch as `(session, attachment)`, `None` where unreadable.
    stored_rows: Vec<(Option<String>, Option<AttachmentId>)>,
}

/// What range deletes already covered, so per-item deletes skip it.
#[derive(Default)]
struct RangeDeletes {
    /// The bytes and metadata of every attachment in the stretch.
    attachments: bool,
    /// These sessions' rows in the stretch.
    sessions: Vec<String>,
}

impl StretchRead {
    /// Issues the range deletes `plans` allow: the stretch's bytes and metadata when everything
    /// stored there is doomed, and a session's rows there when all of them are forgotten.
    fn delete_ranges(&self, tx: &Tx, listed: &[AttachmentManifestEntry], plans: &[SweepPlan]) -> Result<RangeDeletes> {
        let mut doomed: Vec<AttachmentId> = listed.iter().zip(plans).filter(|(_, plan)| plan.delete_bytes).map(|(row, _)| row.attachment_id.clone()).collect();
        doomed.sort_unstable();
        let attachments = self.stored_ids.as_deref().is_some_and(|stored| stretch_holds_only(stored, &doomed));
        if attachments {
            tables::delete_attachments_in(tx, &self.stretch)?;
        }
        let forgotten: Vec<(String, AttachmentId)> = plans.iter().flat_map(|plan| plan.forget.iter().cloned()).collect();
        let sessions = sessions_wholly_forgotten(&self.stored_rows, &forgotten);
        for session_id in &sessions {
            tables::delete_rows_in(tx, session_id, &self.stretch)?;
        }
        Ok(RangeDeletes { attachments, sessions })
    }
}

impl SweepRead {
    fn with_capacity(ids: usize) -> Self {
        Self { rows_by_id: HashMap::with_capacity(ids), stored: HashMap::with_capacity(ids), stretch: None }
    }

    /// A dense batch (its ids are most of what is stored between its first and last) is read with
    /// one request per store over that stretch; any other with two requests per attachment.
    async fn of(tx: &Tx, ids: &[AttachmentId]) -> Result<Self> {
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(Self::with_capacity(0));
        };
        if ids.len() >= DENSE_BATCH_MIN {
            let stretch = tables::IdStretch::new(first, last)?;
            let most = 2 * ids.len() as u32;
            let stored = js_sys::Array::from(&tables::request_meta_ids_in(tx, &stretch, most + 1)?.await?).length();
            if stored <= most {
                return Self::of_stretch(tx, ids, stretch).await;
            }
        }
        let rows: Vec<_> = ids.iter().map(|id| tables::request_rows_of(tx, id)).collect::<Result<_>>()?;
        let metas: Vec<_> = ids.iter().map(|id| tables::request_meta(tx, id)).collect::<Result<_>>()?;
        let mut read = Self::with_capacity(ids.len());
        for ((id, rows), meta) in ids.iter().zip(rows).zip(metas) {
            read.rows_by_id.insert(id.clone(), tables::decode_rows(rows.await?)?);
            read.stored.insert(id.clone(), tables::decode_meta_held(meta.await?)?.map(|(meta, plain)| (meta.byte_len, plain)));
        }
        Ok(read)
    }

    /// Rows and metadata of the batch's own attachments are decoded as strictly as one by one;
    /// those of others in the stretch are only looked at for their ids.
    async fn of_stretch(tx: &Tx, ids: &[AttachmentId], stretch: tables::IdStretch) -> Result<Self> {
        let rows = tables::request_rows_in(tx, &stretch)?;
        let metas = tables::request_metas_in(tx, &stretch)?;
        let bytes = tables::request_bytes_keys_in(tx, &stretch)?;
        let mut read = Self::with_capacity(ids.len());
        for id in ids {
            read.rows_by_id.insert(id.clone(), Vec::new());
            read.stored.insert(id.clone(), None);
        }
        let rows = tables::by_attachment(&rows.await?, "attachmentId");
        for (id, row) in &rows {
            if let Some(rows) = id.as_ref().and_then(|id| read.rows_by_id.get_mut(id)) {
                rows.extend(tables::decode_row(row.clone())?);
            }
        }
        // Whatever is stored in the stretch, so the deletes may cover it if all of it goes; a
        // key naming no attachment rules that out.
        let mut present = Some(Vec::new());
        for (id, meta) in tables::by_attachment(&metas.await?, "id") {
            let Some(id) = id else {
                present = None;
                continue;
            };
            if let Some(found) = read.stored.get_mut(&id) {
                *found = tables::decode_meta_held(meta)?.map(|(meta, plain)| (meta.byte_len, plain));
            }
            if let Some(present) = &mut present {
                present.push(id);
            }
        }
        let stored_ids = present.zip(tables::bytes_ids(bytes.await?)).map(|(mut present, bytes)| {
            present.extend(bytes);
            present
        });
        read.stretch = Some(StretchRead { stretch, stored_ids, stored_rows: tables::sessions_of(&rows) });
        Ok(read)
    }
}

/// From this many attachments on, a sweep batch checks whether it can be read as one stretch.
const DENSE_BATCH_MIN: usize = 16;

/// Sweep steps per transaction: large enough to amortise a transaction, small enough to report
/// progress and honour an abort often.
const RECLAIM_BATCH: usize = 256;

/// Bytes to put, already in JavaScript (an exact-length buffer, or a Blob), with the SHA-256 they
/// hash to.
pub(crate) struct BufferPut {
    pub(crate) id: AttachmentId,
    pub(crate) bytes: Bytes,
    pub(crate) meta: AttachmentCreateMeta,
}

impl BufferPut {
    /// Bytes from Rust: hashed here and copied out of wasm memory once.
    fn copy_of(bytes: &[u8], meta: AttachmentCreateMeta) -> Self {
        Self { id: content_id(bytes), bytes: Bytes::Buffer(tables::bytes_to_buffer(bytes)), meta }
    }
}

/// `range` of `blob` as a Blob of `media_type` (a reference to the same data, nothing copied).
fn typed_slice(blob: &web_sys::Blob, range: ByteRange, media_type: &str) -> Result<web_sys::Blob> {
    blob.slice_with_f64_and_f64_and_content_type(range.start as f64, range.end as f64, media_type).map_err(|error| super::error_map::js_error(error, "slicing a Blob"))
}

/// How much of a buffer already read a stream hands out at a time.
const STREAM_PIECE: u32 = 1 << 20;

/// Chunked bytes read one stored chunk per call, each in its own read transaction, so a stream
/// holds one chunk at a time and a cancelled one leaves no transaction behind.
struct StoredChunks {
    db: Rc<Database>,
    id: AttachmentId,
    /// `(chunk index, start, end)` within each chunk, still to read.
    pieces: std::vec::IntoIter<(u64, u64, u64)>,
}

#[async_trait(?Send)]
impl crate::body::ChunkSource for StoredChunks {
    async fn next_chunk(&mut self) -> Result<Option<Uint8Array>> {
        let Some((index, start, end)) = self.pieces.next() else { return Ok(None) };
        let index = u32::try_from(index).map_err(|_| AttachmentStoreError::backend("chunk index out of range"))?;
        let chunk = self.db.read(&[BYTES], async |tx| tables::read_chunk(tx, &self.id, index).await).await?;
        Ok(Some(Uint8Array::new(&chunk).slice(start as u32, end as u32)))
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::BareIds;
    use crate::core::id::content_id;

    #[wasm_bindgen_test]
    fn bare_ids_remember_only_bare_lengths_and_start_over_when_full() {
        let hints = BareIds::default();
        let ids: Vec<_> = (0..=BareIds::LIMIT as u32).map(|i| content_id(&i.to_le_bytes())).collect();
        hints.remember(&ids[0], 64 * 1024);
        assert!(!hints.contains(&ids[0]), "64 KiB is stored with its metadata");
        for id in &ids[..BareIds::LIMIT] {
            hints.remember(id, 64 * 1024 + 1);
            hints.remember(id, 64 * 1024 + 1);
        }
        assert!(ids[..BareIds::LIMIT].iter().all(|id| hints.contains(id)));
        assert_eq!(hints.0.borrow().len(), BareIds::LIMIT, "each remembered once");
        assert!(!hints.contains(&ids[BareIds::LIMIT]));
        hints.remember(&ids[BareIds::LIMIT], 1 << 20);
        assert!(hints.contains(&ids[BareIds::LIMIT]) && !hints.contains(&ids[0]), "full: started over");
    }
}
