//! Typed reads and writes of the three object stores inside one transaction. Store and manifest
//! both build on these, so the one-transaction fast paths reuse exactly the same row handling.

use js_sys::{Array, ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{intern, JsCast, JsValue};

use super::idb::{array_of, between, between_keys, keys_after, keys_starting_with, uncommitted_keys, Request, Tx};
use super::tombstones::LeftUncommitted;
use super::schema::{BYTES, BY_ATTACHMENT, BY_UNCOMMITTED, META, MANIFEST, SESSIONS};
use crate::core::error::{AttachmentStoreError, ErrorCode, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_intent, AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::AttachmentMeta;
use crate::records::{decode_state, decode_stored, decode_stored_rows, field, is_plain, mark_plain, state_record, stored_row, ToJs};
use crate::body::Bytes;
use crate::session_state::SessionState;

fn id_key(id: &AttachmentId) -> JsValue {
    JsValue::from_str(id.as_str())
}

fn row_key(session_id: &str, id: &AttachmentId) -> JsValue {
    array_of(&[session_id, id.as_str()])
}

/// Bytes are stored as an exact-length `ArrayBuffer` (never a view, which would store its whole
/// underlying buffer, nor a `Blob`, which some engines store unreliably).
pub(crate) fn bytes_to_buffer(bytes: &[u8]) -> ArrayBuffer {
    Uint8Array::from(bytes).buffer()
}

fn buffer_from_js(value: JsValue) -> Result<ArrayBuffer> {
    value.dyn_into::<ArrayBuffer>().map_err(|_| AttachmentStoreError::backend("stored bytes are not an ArrayBuffer"))
}

/// Starts reading the metadata of `id`; [`decode_meta`] reads the answer.
pub(crate) fn request_meta(tx: &Tx, id: &AttachmentId) -> Result<Request> {
    Ok(tx.store(META)?.get(&id_key(id)))
}

pub(crate) fn decode_meta(value: JsValue) -> Result<Option<AttachmentMeta>> {
    if value.is_undefined() {
        Ok(None)
    } else {
        decode_stored(&value, "metadata").map(Some)
    }
}

/// The metadata of `id`, if any.
pub(crate) async fn read_meta(tx: &Tx, id: &AttachmentId) -> Result<Option<AttachmentMeta>> {
    decode_meta(request_meta(tx, id)?.await?)
}

/// A stored metadata row read back with whether a plain put holds its bytes.
pub(crate) fn decode_meta_held(value: JsValue) -> Result<Option<(AttachmentMeta, bool)>> {
    let plain = is_plain(&value);
    Ok(decode_meta(value)?.map(|meta| (meta, plain)))
}

/// Starts checking whether `id` has bytes and metadata; [`decode_present`] reads the answers.
pub(crate) fn request_presence(tx: &Tx, id: &AttachmentId) -> Result<(Request, Request)> {
    Ok((tx.store(BYTES)?.count_in(&id_key(id)), tx.store(META)?.count_in(&id_key(id))))
}

/// Whether both counts of [`request_presence`] found the record.
pub(crate) async fn decode_present((bytes, meta): (Request, Request)) -> Result<bool> {
    let found = |count: JsValue| count.as_f64().is_some_and(|count| count > 0.0);
    Ok(found(bytes.await?) && found(meta.await?))
}

/// Engines cap one stored value (Chromium: about 127 MiB), so larger bytes are stored in chunks
/// of this size: the first under `<id>`, the rest under `<id>#000001`, `<id>#000002`, ...
pub(crate) const CHUNK_BYTES: u32 = 32 << 20;

fn chunk_key(id: &AttachmentId, index: u32) -> JsValue {
    JsValue::from_str(&format!("{id}#{index:06}"))
}

/// The last key `id`'s bytes may have: its chunk keys sort between `<id>` and this (ids are
/// fixed-length hex, so no other id falls in between).
fn past_chunks_of(id: &AttachmentId) -> String {
    format!("{id}#\u{ffff}")
}

/// Every key of `id`'s bytes: `<id>` and its chunks.
fn all_chunks(id: &AttachmentId) -> Result<JsValue> {
    between(id.as_str(), &past_chunks_of(id))
}

/// The attachment a bytes key belongs to (`<id>` or a chunk key `<id>#000001`).
fn id_of_bytes_key(key: &str) -> &str {
    key.split_once('#').map_or(key, |(id, _)| id)
}

/// A stretch of ids, `first..=last`, as key ranges over metadata and over bytes (with chunks).
pub(crate) struct IdStretch {
    first: AttachmentId,
    last: AttachmentId,
    ids: JsValue,
    bytes: JsValue,
}

impl IdStretch {
    pub(crate) fn new(first: &AttachmentId, last: &AttachmentId) -> Result<Self> {
        Ok(Self {
            ids: between(first.as_str(), last.as_str())?,
            bytes: between(first.as_str(), &past_chunks_of(last))?,
            first: first.clone(),
            last: last.clone(),
        })
    }
}

/// Starts reading the ids of at most `limit` attachments with metadata in `stretch`: enough to
/// tell whether a batch is most of it, at a cost bounded by the batch (a count would walk the
/// whole stretch, and a sparse batch's stretch may span the store).
pub(crate) fn request_meta_ids_in(tx: &Tx, stretch: &IdStretch, limit: u32) -> Result<Request> {
    Ok(tx.store(META)?.get_all_keys_limited(&stretch.ids, limit))
}

/// Starts reading the metadata in `stretch`; [`by_attachment`] splits the answer.
pub(crate) fn request_metas_in(tx: &Tx, stretch: &IdStretch) -> Result<Request> {
    Ok(tx.store(META)?.get_all_in(&stretch.ids))
}

/// Starts reading the manifest rows of every id in `stretch`; [`by_attachment`] splits the answer.
pub(crate) fn request_rows_in(tx: &Tx, stretch: &IdStretch) -> Result<Request> {
    Ok(tx.store(MANIFEST)?.index(BY_ATTACHMENT)?.get_all(&stretch.ids))
}

/// Stored metadata (`"id"`) or manifest rows (`"attachmentId"`), each with the attachment it
/// names (`None` if that is not an id), still undecoded: a stretch holds rows of attachments the
/// sweep does not handle, and a damaged one of those must not stop it.
pub(crate) fn by_attachment(value: &JsValue, field: &str) -> Vec<(Option<AttachmentId>, JsValue)> {
    value.unchecked_ref::<Array>().iter().map(|row| (string_field(&row, field).and_then(|id| AttachmentId::parse(&id).ok()), row)).collect()
}

/// The sessions of manifest rows, read as leniently as [`by_attachment`].
pub(crate) fn sessions_of(rows: &[(Option<AttachmentId>, JsValue)]) -> Vec<(Option<String>, Option<AttachmentId>)> {
    rows.iter().map(|(id, row)| (string_field(row, "sessionId"), id.clone())).collect()
}

fn string_field(row: &JsValue, field: &str) -> Option<String> {
    js_sys::Reflect::get(row, &JsValue::from_str(wasm_bindgen::intern(field))).ok()?.as_string()
}

/// Starts listing the bytes keys in `stretch`; [`bytes_ids`] reads the answer.
pub(crate) fn request_bytes_keys_in(tx: &Tx, stretch: &IdStretch) -> Result<Request> {
    Ok(tx.store(BYTES)?.get_all_keys_in(&stretch.bytes))
}

/// The attachments the bytes keys belong to, each once; `None` if a key names no attachment.
pub(crate) fn bytes_ids(value: JsValue) -> Option<Vec<AttachmentId>> {
    let mut ids = value
        .unchecked_into::<Array>()
        .iter()
        .map(|key| AttachmentId::parse(id_of_bytes_key(&key.as_string()?)).ok())
        .collect::<Option<Vec<_>>>()?;
    ids.dedup();
    Some(ids)
}

/// Deletes the bytes and metadata of every id in `stretch`.
pub(crate) fn delete_attachments_in(tx: &Tx, stretch: &IdStretch) -> Result<()> {
    tx.store(BYTES)?.delete(&stretch.bytes)?;
    tx.store(META)?.delete(&stretch.ids)
}

/// The first record of an attachment's bytes (under `<id>`).
pub(crate) enum FirstRecord {
    /// Up to 64 KiB, stored with a copy of the metadata.
    Small(ArrayBuffer),
    /// A bare buffer: all the bytes, or the first [`CHUNK_BYTES`] of chunked ones.
    Bare(ArrayBuffer),
    /// All the bytes, as a Blob.
    Blob(web_sys::Blob),
}

/// The first record of `id`'s bytes with its metadata (`None` if no metadata is stored), or
/// `None` if no bytes are. Bytes stored with their metadata take one request; others need the
/// metadata row too, read alongside when the caller knows them to be large (`known_bare`), else
/// next.
pub(crate) async fn read_first(tx: &Tx, id: &AttachmentId, known_bare: bool) -> Result<Option<(Option<AttachmentMeta>, FirstRecord)>> {
    let first = tx.store(BYTES)?.get(&id_key(id));
    let meta = known_bare.then(|| request_meta(tx, id)).transpose()?;
    let first = first.await?;
    if first.is_undefined() {
        return Ok(None);
    }
    let record = if first.is_instance_of::<ArrayBuffer>() {
        FirstRecord::Bare(first.unchecked_into())
    } else if first.is_instance_of::<web_sys::Blob>() {
        FirstRecord::Blob(first.unchecked_into())
    } else {
        // Small bytes carry their metadata (see `write_attachment`): one request was enough.
        let bytes = buffer_from_js(field(&first, SMALL_BYTES_FIELD)?)?;
        return Ok(Some((Some(decode_stored(&first, "metadata")?), FirstRecord::Small(bytes))));
    };
    let meta = decode_meta(match meta {
        Some(request) => request.await?,
        None => request_meta(tx, id)?.await?,
    })?;
    Ok(Some((meta, record)))
}

/// The bytes of `id` with its metadata (`None` if no metadata is stored), or `None` if no bytes
/// are: a buffer that is the engine's fresh copy (or, for chunked bytes, a fresh concatenation),
/// so it can be handed to a caller, or the stored Blob.
pub(crate) async fn read_attachment(tx: &Tx, id: &AttachmentId, known_bare: bool) -> Result<Option<(Option<AttachmentMeta>, Bytes)>> {
    let Some((meta, first)) = read_first(tx, id, known_bare).await? else { return Ok(None) };
    let first = match first {
        FirstRecord::Small(bytes) => return Ok(Some((meta, Bytes::Buffer(bytes)))),
        FirstRecord::Blob(blob) => return Ok(Some((meta, Bytes::Blob(blob)))),
        FirstRecord::Bare(first) => first,
    };
    let chunked = meta.as_ref().is_some_and(|meta| meta.byte_len > u64::from(first.byte_length()));
    let (true, Some(meta)) = (chunked, meta.clone()) else {
        return Ok(Some((meta, Bytes::Buffer(first))));
    };
    // Chunked: read every chunk in one request and join them.
    let chunks: Array = tx.store(BYTES)?.get_all_in(&all_chunks(id)?).await?.unchecked_into();
    let length = u32::try_from(meta.byte_len).map_err(|_| AttachmentStoreError::backend("attachment too large for one buffer: read it with getStream or getBlob"))?;
    let joined = Uint8Array::new_with_length(length);
    let mut offset = 0u32;
    for chunk in chunks.iter() {
        let chunk = Uint8Array::new(buffer_from_js(chunk)?.as_ref());
        if offset + chunk.length() > length {
            return Err(AttachmentStoreError::new(ErrorCode::Corrupt, format!("attachment {id} has more bytes than its metadata says")));
        }
        joined.set(&chunk, offset);
        offset += chunk.length();
    }
    if offset != length {
        return Err(AttachmentStoreError::new(ErrorCode::Corrupt, format!("attachment {id} is missing chunks (the engine lost them: store.verify() removes the rest)")));
    }
    Ok(Some((Some(meta), Bytes::Buffer(joined.buffer()))))
}

/// Chunk `index` of chunked bytes of `id` (0 is the first record).
pub(crate) async fn read_chunk(tx: &Tx, id: &AttachmentId, index: u32) -> Result<ArrayBuffer> {
    let key = if index == 0 { id_key(id) } else { chunk_key(id, index) };
    let chunk = tx.store(BYTES)?.get(&key).await?;
    if chunk.is_undefined() {
        return Err(AttachmentStoreError::new(ErrorCode::Corrupt, format!("attachment {id} is missing chunk {index} (the engine lost it: store.verify() removes the rest)")));
    }
    buffer_from_js(chunk)
}

/// Every attachment's metadata, ordered by id.
pub(crate) async fn list_meta(tx: &Tx) -> Result<Vec<AttachmentMeta>> {
    decode_stored_rows(&tx.store(META)?.get_all().await?, "metadata")
}

/// The metadata rows after `after` (exclusive), at most `limit` (the engine reads no more).
pub(crate) async fn list_meta_page(tx: &Tx, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentMeta>> {
    let range = match after {
        Some(id) => keys_after(id.as_str())?,
        None => JsValue::UNDEFINED,
    };
    let limit = limit.map(|limit| u32::try_from(limit).unwrap_or(u32::MAX));
    decode_stored_rows(&tx.store(META)?.get_all_limited(&range, limit).await?, "metadata")
}

/// Whether bytes of this length (up to 64 KiB) are stored with a copy of their metadata, so a
/// get reads one record (schema version 2); longer ones are stored bare. These are also simply
/// (re)written: cheaper than skipping a rewrite, because a transaction without a tolerated failure
/// can be committed at once (see `Database::run`). A fact about a content id that never changes,
/// so callers may remember it.
pub(crate) fn stored_with_meta(byte_len: u32) -> bool {
    stored_with_meta_len(u64::from(byte_len))
}

/// [`stored_with_meta`] for any length.
pub(crate) fn stored_with_meta_len(byte_len: u64) -> bool {
    byte_len <= 64 * 1024
}

/// The property holding the bytes in a small attachment's record (its other properties are the
/// metadata row's).
const SMALL_BYTES_FIELD: &str = "bytes";

/// Writes metadata, and the bytes (an exact-length `ArrayBuffer` no one else holds): small ones
/// always, with their metadata, larger ones unless that content is already stored (same id, same
/// bytes; a Blob, schema version 4, never read into memory to be stored). `plain`: a plain put holds the bytes (a plain put says so; a session's put keeps what
/// the stored row said). Issues its writes without waiting: the transaction's `complete` (or
/// `abort`) reports them.
pub(crate) fn write_attachment(tx: &Tx, meta: &AttachmentMeta, bytes: &Bytes, plain: bool) -> Result<()> {
    let row = meta.to_js();
    if plain {
        mark_plain(&row);
    }
    tx.store(META)?.put(&row, None)?;
    let store = tx.store(BYTES)?;
    let bytes = match bytes {
        // Unless that content is stored already, in whatever layout.
        Bytes::Blob(blob) => return store.add_unless_present(blob, &id_key(&meta.id)),
        Bytes::Buffer(buffer) => buffer,
    };
    if stored_with_meta(bytes.byte_length()) {
        // `put` cloned the row when called: adding the bytes now changes only the bytes' record.
        // Both records are rewritten together by every put, so the copy cannot go stale.
        Reflect::set(&row, &intern(SMALL_BYTES_FIELD).into(), bytes).map_err(|_| AttachmentStoreError::backend("building the bytes record failed"))?;
        store.put(&row, Some(&id_key(&meta.id)))
    } else if bytes.byte_length() <= CHUNK_BYTES {
        store.add_unless_present(bytes, &id_key(&meta.id))
    } else {
        let mut index = 0;
        let mut offset = 0;
        while offset < bytes.byte_length() {
            let end = (offset + CHUNK_BYTES).min(bytes.byte_length());
            let key = if index == 0 { id_key(&meta.id) } else { chunk_key(&meta.id, index) };
            store.add_unless_present(&bytes.slice_with_end(offset, end), &key)?;
            index += 1;
            offset = end;
        }
        Ok(())
    }
}

/// Deletes the bytes and metadata of `id`. With its length known (`byte_len`) and too small to be
/// chunked, only the one key is deleted: a key range delete costs engines noticeably more.
pub(crate) fn delete_attachment(tx: &Tx, id: &AttachmentId, byte_len: Option<u64>) -> Result<()> {
    let bytes = tx.store(BYTES)?;
    match byte_len {
        Some(len) if len <= u64::from(CHUNK_BYTES) => bytes.delete(&id_key(id))?,
        _ => bytes.delete(&all_chunks(id)?)?,
    }
    tx.store(META)?.delete(&id_key(id))
}

/// Starts reading that session's row for `id`; [`decode_row`] reads the answer.
pub(crate) fn request_row(tx: &Tx, session_id: &str, id: &AttachmentId) -> Result<Request> {
    Ok(tx.store(MANIFEST)?.get(&row_key(session_id, id)))
}

pub(crate) fn decode_row(value: JsValue) -> Result<Option<AttachmentManifestEntry>> {
    if value.is_undefined() {
        Ok(None)
    } else {
        decode_stored(&value, "manifest").map(Some)
    }
}

/// Writes a manifest row (insert or replace).
pub(crate) fn write_row(tx: &Tx, row: &AttachmentManifestEntry) -> Result<()> {
    tx.store(MANIFEST)?.put(&stored_row(row), None)
}

/// Starts reading every row of `session_id` (its keys `[session, id]` are one key range).
pub(crate) fn request_session_rows(tx: &Tx, session_id: &str) -> Result<Request> {
    Ok(tx.store(MANIFEST)?.get_all_in(&keys_starting_with(session_id)?))
}

/// Every row of `session_id`.
pub(crate) async fn session_rows(tx: &Tx, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
    decode_rows(request_session_rows(tx, session_id)?.await?)
}

/// Saves `state` as the session's state (replacing any). A value the engine cannot store fails
/// the transaction (`DataCloneError`: `InvalidInput`).
pub(crate) fn write_state(tx: &Tx, session_id: &str, state: &SessionState) -> Result<()> {
    tx.store(SESSIONS)?.put(&state_record(Some(session_id), state), None)
}

/// The session's state, if it has one.
pub(crate) async fn read_state(tx: &Tx, session_id: &str) -> Result<Option<SessionState>> {
    let record = tx.store(SESSIONS)?.get(&JsValue::from_str(session_id)).await?;
    if record.is_undefined() {
        Ok(None)
    } else {
        decode_state(&record).map(Some)
    }
}

/// Deletes the session's state.
pub(crate) fn delete_state(tx: &Tx, session_id: &str) -> Result<()> {
    tx.store(SESSIONS)?.delete(&JsValue::from_str(session_id))
}

/// Records `intents` by the manifest rule (refresh, keep any commit), reading the existing rows
/// all at once.
pub(crate) async fn record_intents(tx: &Tx, intents: &[AttachmentIntent]) -> Result<()> {
    let existing: Vec<Request> = intents.iter().map(|i| request_row(tx, &i.session_id, &i.attachment_id)).collect::<Result<_>>()?;
    let mut moved = Vec::new();
    for (intent, existing) in intents.iter().zip(existing) {
        let existing = decode_row(existing.await?)?;
        let row = apply_intent(existing.as_ref(), intent);
        write_row(tx, &row)?;
        moved.extend(existing.filter(|old| old.intent_at_epoch_ms != row.intent_at_epoch_ms));
    }
    LeftUncommitted::of(&moved).clear(tx)
}

/// Starts reading every row of `id`, whatever its session; [`decode_rows`] reads the answer.
pub(crate) fn request_rows_of(tx: &Tx, id: &AttachmentId) -> Result<Request> {
    Ok(tx.store(MANIFEST)?.index(BY_ATTACHMENT)?.get_all(&id_key(id)))
}

pub(crate) fn decode_rows(value: JsValue) -> Result<Vec<AttachmentManifestEntry>> {
    decode_stored_rows(&value, "manifest")
}

/// Every row of `id`, whatever its session.
pub(crate) async fn rows_of(tx: &Tx, id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
    decode_rows(request_rows_of(tx, id)?.await?)
}

/// Up to `limit` uncommitted rows intended at or before `older_than`, after `after`, oldest first:
/// read from the `byUncommitted` index, which holds no committed row.
pub(crate) async fn uncommitted_rows(tx: &Tx, older_than: i64, after: Option<&AttachmentManifestEntry>, limit: Option<u32>) -> Result<Vec<AttachmentManifestEntry>> {
    let range = uncommitted_range(older_than, after)?;
    let rows = tx.store(MANIFEST)?;
    let index = rows.index(BY_UNCOMMITTED)?;
    let rows = match limit {
        Some(limit) => index.get_all_limited(&range, limit),
        None => index.get_all(&range),
    };
    decode_stored_rows(&rows.await?, "manifest")
}

/// How many uncommitted rows were intended at or before `older_than`.
pub(crate) async fn count_uncommitted(tx: &Tx, older_than: i64) -> Result<u64> {
    let count = tx.store(MANIFEST)?.index(BY_UNCOMMITTED)?.count_in(&uncommitted_range(older_than, None)?).await?;
    Ok(count.as_f64().unwrap_or(0.0) as u64)
}

fn uncommitted_range(older_than: i64, after: Option<&AttachmentManifestEntry>) -> Result<JsValue> {
    uncommitted_keys(older_than as f64, after.map(|row| (row.intent_at_epoch_ms as f64, row.session_id.as_str(), row.attachment_id.as_str())))
}

/// Deletes every row of `session_id` in `stretch` (its keys `[session, id]` are one key range).
pub(crate) fn delete_rows_in(tx: &Tx, session_id: &str, stretch: &IdStretch) -> Result<()> {
    tx.store(MANIFEST)?.delete(&between_keys(&row_key(session_id, &stretch.first), &row_key(session_id, &stretch.last))?)
}

/// Deletes that session's row for `id`.
pub(crate) fn delete_row(tx: &Tx, session_id: &str, id: &AttachmentId) -> Result<()> {
    tx.store(MANIFEST)?.delete(&row_key(session_id, id))
}

/// Deletes that session's row for `id`, or every row of `id`. An uncommitted row's entry in
/// `byUncommitted` may stay behind in Chromium (see [`super::tombstones`]) until a sweep batch's
/// span or the engine's own cleanup covers it: explicit deletes of pending rows are rare.
pub(crate) async fn delete_rows(tx: &Tx, id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
    let rows = tx.store(MANIFEST)?;
    match session_id {
        Some(session_id) => delete_row(tx, session_id, id),
        None => {
            let keys = rows.index(BY_ATTACHMENT)?.get_all_keys(&id_key(id)).await?;
            keys.unchecked_into::<Array>().iter().try_for_each(|key| rows.delete(&key))
        }
    }
}
