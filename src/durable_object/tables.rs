//! Typed rows over a Durable Object's key-value storage.
//!
//! Keys, under the store's prefix: `m:<id>` metadata (with `plain: true` when a plain put holds
//! the bytes), `b:<id>:<n>` the bytes in chunks of [`CHUNK_BYTES`] (the storage's per-value limit
//! is 2 MB), `r:<id>:<session>` manifest rows (so one prefix lists every row of an attachment),
//! `s:<session>` a session's committed state.

use js_sys::{ArrayBuffer, Uint8Array};

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
    fn state(&self, session_id: &str) -> String {
        format!("{}s:{session_id}", self.prefix)
    }
}

pub(crate) async fn read_meta(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<Option<AttachmentMeta>> {
    match ops.get(&keys.meta(id)).await? {
        Some(value) => decode_stored(&value, "metadata").map(Some),
        None => Ok(None),
    }
}

/// The metadata of `id` with whether a plain put holds its bytes.
pub(crate) async fn read_meta_held(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<Option<(AttachmentMeta, bool)>> {
    match ops.get(&keys.meta(id)).await? {
        Some(value) => Ok(Some((decode_stored(&value, "metadata")?, is_plain(&value)))),
        None => Ok(None),
    }
}

/// Whether `id` has its metadata and its (first) chunk.
pub(crate) async fn is_present(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<bool> {
    Ok(ops.get(&keys.meta(id)).await?.is_some() && ops.get(&keys.chunk(id, 0)).await?.is_some())
}

pub(crate) async fn list_meta(ops: &Ops, keys: &Keys) -> Result<Vec<AttachmentMeta>> {
    ops.list(&keys.metas()).await?.into_iter().map(|(_, value)| decode_stored(&value, "metadata")).collect()
}

/// The bytes of `meta`, reassembled from their chunks into one fresh buffer.
pub(crate) async fn read_bytes(ops: &Ops, keys: &Keys, meta: &AttachmentMeta) -> Result<ArrayBuffer> {
    let length = u32::try_from(meta.byte_len).map_err(|_| AttachmentStoreError::backend("attachment too large to read at once"))?;
    let out = Uint8Array::new_with_length(length);
    let mut offset = 0u32;
    for (_, chunk) in ops.list(&keys.chunks(&meta.id)).await? {
        let chunk = Uint8Array::new(&chunk);
        if offset + chunk.length() > length {
            return Err(AttachmentStoreError::backend(format!("attachment {} has more bytes than its metadata says", meta.id)));
        }
        out.set(&chunk, offset);
        offset += chunk.length();
    }
    if offset != length {
        return Err(AttachmentStoreError::new(ErrorCode::NotFound, format!("attachment {} is missing bytes", meta.id)));
    }
    Ok(out.buffer())
}

/// Writes metadata, and the bytes in chunks unless the content is already stored. A plain put
/// (`plain`) marks the bytes held; a session's put keeps the mark a plain put left.
pub(crate) async fn write_attachment(ops: &Ops, keys: &Keys, meta: &AttachmentMeta, bytes: &ArrayBuffer, plain: bool) -> Result<()> {
    let existing = read_meta_held(ops, keys, &meta.id).await?;
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
    let row = meta.to_js();
    if plain || existing.is_some_and(|(_, held)| held) {
        mark_plain(&row);
    }
    ops.put(&keys.meta(&meta.id), &row).await
}

pub(crate) async fn delete_attachment(ops: &Ops, keys: &Keys, id: &AttachmentId) -> Result<()> {
    let mut doomed: Vec<String> = ops.list(&keys.chunks(id)).await?.into_iter().map(|(key, _)| key).collect();
    doomed.push(keys.meta(id));
    ops.delete(&doomed).await
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

pub(crate) async fn write_row(ops: &Ops, keys: &Keys, row: &AttachmentManifestEntry) -> Result<()> {
    ops.put(&keys.row(&row.attachment_id, &row.session_id), &row.to_js()).await
}

pub(crate) async fn record_intent(ops: &Ops, keys: &Keys, intent: &AttachmentIntent) -> Result<()> {
    let existing = read_row(ops, keys, &intent.session_id, &intent.attachment_id).await?;
    write_row(ops, keys, &apply_intent(existing.as_ref(), intent)).await
}

pub(crate) async fn delete_rows(ops: &Ops, keys: &Keys, id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
    let doomed = match session_id {
        Some(session_id) => vec![keys.row(id, session_id)],
        None => ops.list(&keys.rows_of(id)).await?.into_iter().map(|(key, _)| key).collect(),
    };
    ops.delete(&doomed).await
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
