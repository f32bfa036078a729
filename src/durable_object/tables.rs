//! Typed rows over a Durable Object's key-value storage.
//!
//! Keys, under the store's prefix: `m:<id>` metadata (with `plain: true` when a plain put holds
//! the bytes), `b:<id>:<n>` the bytes in chunks of [`CHUNK_BYTES`] (the storage's per-value limit
//! is 2 MB), `r:<id>:<session>` manifest rows (so one prefix lists every row of an attachment),
//! `s:<session>` a session's committed state, `U:<upload>` an upload in progress and `u:<upload>:<n>`
//! its staged chunks (bytes streamed in keep their chunks there once published: the metadata row's
//! `chunks` says where).
//!
//! `q:<intent time>:<session>\0\x01<id>` holds a copy of each uncommitted row, and only those: keys
//! in the order `list_uncommitted` returns (oldest first, then session, then id), so the sweep
//! reads its candidates a page at a time. Written beside every row write; `Q` says it was built
//! for rows written before it existed (see [`ensure_uncommitted_index`]).

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use super::storage::Ops;
use crate::core::error::{AttachmentStoreError, ErrorCode, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_intent, AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::AttachmentMeta;
use crate::records::{decode_state, decode_stored, is_plain, mark_plain, state_record, ToJs};
use crate::session_state::SessionState;

/// Bytes per stored chunk: well under the 2 MB value limit.
pub(crate) const CHUNK_BYTES: u32 = 1 << 20;

/// Key builder for one store (stores with different prefixes share a Durable Object).
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }
    fn meta(&self, id: &AttachmentId) -> String {
        format!("{}m:{id}", self.prefix)
    }
    fn metas(&self) -> String {
        format!("{}m:", self.prefix)
    }
    fn chunk(&self, id: &AttachmentId, index: u32) -> String {
        format!("{}b:{id}:{index:08}", self.prefix)
    }
    fn chunks(&self, id: &AttachmentId) -> String {
        format!("{}b:{id}:", self.prefix)
    }
    fn row(&self, id: &AttachmentId, session_id: &str) -> String {
        format!("{}r:{id}:{session_id}", self.prefix)
    }
    fn rows_of(&self, id: &AttachmentId) -> String {
        format!("{}r:{id}:", self.prefix)
    }
    fn rows(&self) -> String {
        format!("{}r:", self.prefix)
    }
    /// A row's key in the index of uncommitted rows: the intent time shifted to sort as unsigned,
    /// fixed width; the session with NUL escaped (`\0` → `\0\xff`) and ended by `\0\x01`, so
    /// that key order is `(intent, session, id)` order whatever the session id holds.
    fn uncommitted(&self, row: &AttachmentManifestEntry) -> String {
        let at = (row.intent_at_epoch_ms as u64) ^ (1 << 63);
        format!("{}q:{at:020}:{}\0\u{1}{}", self.prefix, row.session_id.replace('\0', "\0\u{ff}"), row.attachment_id)
    }
    fn uncommitted_all(&self) -> String {
        format!("{}q:", self.prefix)
    }
    fn uncommitted_index_built(&self) -> String {
        format!("{}Q", self.prefix)
    }
    fn state(&self, session_id: &str) -> String {
        format!("{}s:{session_id}", self.prefix)
    }
    fn upload(&self, upload: &str) -> String {
        format!("{}U:{upload}", self.prefix)
    }
    fn uploads(&self) -> String {
        format!("{}U:", self.prefix)
    }
    fn upload_chunks(&self, upload: &str) -> String {
        format!("{}u:{upload}:", self.prefix)
    }
}

pub(crate) async fn read_meta(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<Option<AttachmentMeta>> {
    match ops.get(&keys.meta(id)).await? {
        Some(value) => decode_stored(&value, "metadata").map(Some),
        None => Ok(None),
    }
}

/// A metadata row as stored: the metadata, whether a plain put holds the bytes, and where the
/// chunks are (`b:<id>:` for bytes put whole; `u:<upload>:` for bytes streamed in, whose chunks
/// stay where they were staged).
pub(crate) struct StoredMeta {
    pub(crate) meta: AttachmentMeta,
    pub(crate) plain: bool,
    /// The chunks' key prefix, under the store's prefix.
    chunks: String,
}

impl StoredMeta {
    /// The key of chunk `index`.
    pub(crate) fn chunk_key(&self, keys: &Keys, index: u64) -> String {
        format!("{}{}{index:08}", keys.prefix, self.chunks)
    }
    fn chunks_prefix(&self, keys: &Keys) -> String {
        format!("{}{}", keys.prefix, self.chunks)
    }
}

/// The property of a metadata row that says where bytes streamed in keep their chunks.
const CHUNKS_FIELD: &str = "chunks";

pub(crate) async fn read_stored(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<Option<StoredMeta>> {
    let Some(value) = ops.get(&keys.meta(id)).await? else { return Ok(None) };
    let chunks = js_sys::Reflect::get(&value, &CHUNKS_FIELD.into()).ok().and_then(|chunks| chunks.as_string()).unwrap_or_else(|| format!("b:{id}:"));
    Ok(Some(StoredMeta { plain: is_plain(&value), meta: decode_stored(&value, "metadata")?, chunks }))
}

/// The metadata of `id` with whether a plain put holds its bytes.
pub(crate) async fn read_meta_held(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<Option<(AttachmentMeta, bool)>> {
    Ok(read_stored(ops, keys, id).await?.map(|stored| (stored.meta, stored.plain)))
}

/// Whether `id` has its metadata and its (first) chunk.
pub(crate) async fn is_present(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<bool> {
    match read_stored(ops, keys, id).await? {
        Some(stored) => Ok(ops.get(&stored.chunk_key(keys, 0)).await?.is_some()),
        None => Ok(false),
    }
}

pub(crate) async fn list_meta(ops: &Ops, keys: &Keys) -> Result<Vec<AttachmentMeta>> {
    list_meta_page(ops, keys, None, None).await
}

/// The metadata rows after `after` (exclusive), at most `limit`.
pub(crate) async fn list_meta_page(ops: &Ops, keys: &Keys, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentMeta>> {
    let start_after = after.map(|id| keys.meta(id));
    ops.list_page(&keys.metas(), start_after.as_deref(), limit).await?.into_iter().map(|(_, value)| decode_stored(&value, "metadata")).collect()
}

/// The bytes of `stored`, reassembled from their chunks into one fresh buffer.
pub(crate) async fn read_bytes(ops: &Ops, keys: &Keys, stored: &StoredMeta) -> Result<ArrayBuffer> {
    let meta = &stored.meta;
    let length = u32::try_from(meta.byte_len).map_err(|_| AttachmentStoreError::backend("attachment too large to read at once: read it with getStream"))?;
    let out = Uint8Array::new_with_length(length);
    let mut offset = 0u32;
    for (_, chunk) in ops.list(&stored.chunks_prefix(keys)).await? {
        let chunk = Uint8Array::new(&chunk);
        if offset + chunk.length() > length {
            return Err(AttachmentStoreError::new(ErrorCode::Corrupt, format!("attachment {} has more bytes than its metadata says", meta.id)));
        }
        out.set(&chunk, offset);
        offset += chunk.length();
    }
    if offset != length {
        return Err(AttachmentStoreError::new(ErrorCode::Corrupt, format!("attachment {} is missing bytes (store.verify() removes the rest)", meta.id)));
    }
    Ok(out.buffer())
}

/// Chunk `index` of `stored`'s bytes.
pub(crate) async fn read_chunk(ops: &Ops, keys: &Keys, stored: &StoredMeta, index: u64) -> Result<ArrayBuffer> {
    match ops.get(&stored.chunk_key(keys, index)).await? {
        Some(chunk) => Ok(chunk.unchecked_into()),
        None => Err(AttachmentStoreError::new(ErrorCode::Corrupt, format!("attachment {} is missing chunk {index} (store.verify() removes the rest)", stored.meta.id))),
    }
}

/// The metadata row to write for `meta` over what is stored (`existing`): a plain put (`plain`)
/// marks the bytes held, a session's put keeps the mark, and the chunks stay where they are.
fn meta_row(meta: &AttachmentMeta, existing: Option<&StoredMeta>, plain: bool, chunks: Option<&str>) -> JsValue {
    let row = meta.to_js();
    if plain || existing.is_some_and(|stored| stored.plain) {
        mark_plain(&row);
    }
    if let Some(chunks) = existing.map(|stored| stored.chunks.as_str()).or(chunks).filter(|chunks| !chunks.starts_with("b:")) {
        let _ = js_sys::Reflect::set(&row, &CHUNKS_FIELD.into(), &chunks.into());
    }
    row
}

/// Writes metadata, and the bytes in chunks unless the content is already stored. A plain put
/// (`plain`) marks the bytes held; a session's put keeps the mark a plain put left.
pub(crate) async fn write_attachment(ops: &Ops, keys: &Keys, meta: &AttachmentMeta, bytes: &ArrayBuffer, plain: bool) -> Result<()> {
    let existing = read_stored(ops, keys, &meta.id).await?;
    if existing.is_none() {
        let mut index = 0;
        let mut offset = 0;
        while offset < bytes.byte_length() || index == 0 {
            let end = (offset + CHUNK_BYTES).min(bytes.byte_length());
            ops.put(&keys.chunk(&meta.id, index), &bytes.slice_with_end(offset, end)).await?;
            index += 1;
            offset = end;
        }
    }
    ops.put(&keys.meta(&meta.id), &meta_row(meta, existing.as_ref(), plain, None)).await
}

/// Deletes the bytes (wherever their chunks are) and the metadata of `id`.
pub(crate) async fn delete_attachment(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<()> {
    let prefix = match read_stored(ops, keys, id).await {
        Ok(Some(stored)) => stored.chunks_prefix(keys),
        _ => keys.chunks(id),
    };
    let mut doomed: Vec<String> = ops.list(&prefix).await?.into_iter().map(|(key, _)| key).collect();
    if prefix != keys.chunks(id) {
        doomed.extend(ops.list(&keys.chunks(id)).await?.into_iter().map(|(key, _)| key));
    }
    doomed.push(keys.meta(id));
    ops.delete(&doomed).await
}

// ---- uploads: bytes streamed in, staged in as many transactions as they need ----------------

/// Starts an upload: its record says when, so a sweep can reclaim it if it is never published.
pub(crate) async fn begin_upload(ops: &Ops, keys: &Keys, upload: &str, now_epoch_ms: i64) -> Result<()> {
    let record = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&record, &"startedAtEpochMs".into(), &JsValue::from_f64(now_epoch_ms as f64));
    ops.put(&keys.upload(upload), &record).await
}

/// Stages chunks `first..` of an upload, unless a sweep has reclaimed it meanwhile.
pub(crate) async fn stage_chunks(ops: &Ops, keys: &Keys, upload: &str, first: u64, chunks: &[Uint8Array]) -> Result<()> {
    if ops.get(&keys.upload(upload)).await?.is_none() {
        return Err(reclaimed());
    }
    for (offset, chunk) in chunks.iter().enumerate() {
        ops.put(&format!("{}{:08}", keys.upload_chunks(upload), first + offset as u64), &chunk.buffer()).await?;
    }
    Ok(())
}

/// Publishes a finished upload as attachment `meta`, in the caller's (final) transaction: its
/// staged chunks become the attachment's, unless that content is stored already (then they go).
/// Fails if a sweep reclaimed the upload meanwhile: nothing is published.
pub(crate) async fn publish_upload(ops: &Ops, keys: &Keys, upload: &str, meta: &AttachmentMeta, plain: bool) -> Result<()> {
    if ops.get(&keys.upload(upload)).await?.is_none() {
        return Err(reclaimed());
    }
    let existing = read_stored(ops, keys, &meta.id).await?;
    if existing.is_some() {
        delete_upload_chunks(ops, keys, upload).await?;
    }
    let staged = format!("u:{upload}:");
    ops.put(&keys.meta(&meta.id), &meta_row(meta, existing.as_ref(), plain, Some(&staged))).await?;
    ops.delete(&[keys.upload(upload)]).await
}

fn reclaimed() -> AttachmentStoreError {
    AttachmentStoreError::backend("the upload was reclaimed by a sweep before it finished; nothing was stored")
}

async fn delete_upload_chunks(ops: &Ops, keys: &Keys, upload: &str) -> Result<()> {
    let staged: Vec<String> = ops.list(&keys.upload_chunks(upload)).await?.into_iter().map(|(key, _)| key).collect();
    ops.delete(&staged).await
}

/// Uploads begun at or before `older_than_epoch_ms` and never published.
pub(crate) async fn abandoned_uploads(ops: &Ops, keys: &Keys, older_than_epoch_ms: i64) -> Result<Vec<String>> {
    let records = ops.list(&keys.uploads()).await?;
    Ok(records
        .into_iter()
        .filter(|(_, record)| js_sys::Reflect::get(record, &"startedAtEpochMs".into()).ok().and_then(|at| at.as_f64()).is_none_or(|at| at as i64 <= older_than_epoch_ms))
        .filter_map(|(key, _)| key.strip_prefix(&keys.uploads()).map(str::to_owned))
        .collect())
}

/// Deletes an upload's staged chunks and its record.
pub(crate) async fn delete_upload(ops: &Ops, keys: &Keys, upload: &str) -> Result<()> {
    delete_upload_chunks(ops, keys, upload).await?;
    ops.delete(&[keys.upload(upload)]).await
}

pub(crate) async fn rows_of(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
    ops.list(&keys.rows_of(id)).await?.into_iter().map(|(_, row)| decode_stored(&row, "manifest")).collect()
}

pub(crate) async fn all_rows(ops: &Ops, keys: &Keys) -> Result<Vec<AttachmentManifestEntry>> {
    ops.list(&keys.rows()).await?.into_iter().map(|(_, row)| decode_stored(&row, "manifest")).collect()
}

/// Every row of `session_id`. Rows are keyed by attachment, so this lists them all.
pub(crate) async fn session_rows(ops: &Ops, keys: &Keys, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
    let mut rows = all_rows(ops, keys).await?;
    rows.retain(|row| row.session_id == session_id);
    Ok(rows)
}

pub(crate) async fn read_row(ops: &Ops, keys: &Keys, session_id: &str, id: &AttachmentId) -> Result<Option<AttachmentManifestEntry>> {
    match ops.get(&keys.row(id, session_id)).await? {
        Some(row) => decode_stored(&row, "manifest").map(Some),
        None => Ok(None),
    }
}

/// Writes `row` and keeps the index of uncommitted rows in step. `previous` is the row it replaces
/// when its intent time may differ (an intent refreshed, a release); a commit keeps the time, so
/// its index entry is found from the row itself.
pub(crate) async fn write_row(ops: &Ops, keys: &Keys, previous: Option<&AttachmentManifestEntry>, row: &AttachmentManifestEntry) -> Result<()> {
    let value = row.to_js();
    ops.put(&keys.row(&row.attachment_id, &row.session_id), &value).await?;
    let entry = keys.uncommitted(row);
    let mut stale: Vec<String> = previous.filter(|previous| !previous.is_committed()).map(|previous| keys.uncommitted(previous)).filter(|key| *key != entry).into_iter().collect();
    if row.is_committed() {
        stale.push(entry);
    } else {
        ops.put(&entry, &value).await?;
    }
    ops.delete(&stale).await
}

pub(crate) async fn record_intent(ops: &Ops, keys: &Keys, intent: &AttachmentIntent) -> Result<()> {
    let existing = read_row(ops, keys, &intent.session_id, &intent.attachment_id).await?;
    write_row(ops, keys, existing.as_ref(), &apply_intent(existing.as_ref(), intent)).await
}

pub(crate) async fn delete_rows(ops: &Ops, keys: &Keys, id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
    let rows = match session_id {
        Some(session_id) => read_row(ops, keys, session_id, id).await?.into_iter().collect(),
        None => rows_of(ops, keys, id).await?,
    };
    let doomed: Vec<String> = rows.iter().flat_map(|row| [keys.row(&row.attachment_id, &row.session_id), keys.uncommitted(row)]).collect();
    ops.delete(&doomed).await
}

/// Up to `limit` uncommitted rows intended at or before `older_than`, after `after`, oldest first,
/// from the index (which holds no committed row). The index is ordered by intent time first, so
/// the first row past the threshold ends the page.
pub(crate) async fn uncommitted_rows(ops: &Ops, keys: &Keys, older_than: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
    let start_after = after.map(|after| keys.uncommitted(after));
    let mut rows = Vec::new();
    for (_, value) in ops.list_page(&keys.uncommitted_all(), start_after.as_deref(), Some(limit)).await? {
        let row: AttachmentManifestEntry = decode_stored(&value, "manifest")?;
        if row.intent_at_epoch_ms > older_than {
            break;
        }
        rows.push(row);
    }
    Ok(rows)
}

/// Builds the index of uncommitted rows once, for rows written before it existed: reads every
/// row that one time, then never again (`Q` marks it built).
pub(crate) async fn ensure_uncommitted_index(ops: &Ops, keys: &Keys) -> Result<()> {
    if ops.get(&keys.uncommitted_index_built()).await?.is_some() {
        return Ok(());
    }
    for row in all_rows(ops, keys).await?.iter().filter(|row| !row.is_committed()) {
        ops.put(&keys.uncommitted(row), &row.to_js()).await?;
    }
    ops.put(&keys.uncommitted_index_built(), &JsValue::TRUE).await
}

pub(crate) async fn write_state(ops: &Ops, keys: &Keys, session_id: &str, state: &SessionState) -> Result<()> {
    ops.put(&keys.state(session_id), &state_record(None, state)).await
}

pub(crate) async fn read_state(ops: &Ops, keys: &Keys, session_id: &str) -> Result<Option<SessionState>> {
    ops.get(&keys.state(session_id)).await?.map(|record| decode_state(&record)).transpose()
}

pub(crate) async fn delete_state(ops: &Ops, keys: &Keys, session_id: &str) -> Result<()> {
    ops.delete(&[keys.state(session_id)]).await
}
