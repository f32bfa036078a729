//! Any store or manifest JavaScript can hand us: one of ours, or one implemented in JavaScript.
//!
//! Our classes are recognised through a hidden method returning a fresh handle object; turning a
//! handle back into Rust checks its class (`instanceof`), so a look-alike object cannot forge one.

use std::rc::Rc;

use async_trait::async_trait;
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen::prelude::*;

use super::convert::JsBytes;
use crate::body::{Body, ViewChunks};
use crate::core::byte_range::ByteRange;
use super::foreign::{JsManifest, JsStore};
use crate::core::error::Result;
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentRef, StoredAttachment};
use crate::core::sweep_rules::SweepStepOutcome;
#[cfg(feature = "durable-object")]
use crate::durable_object::{DurableObjectAttachmentManifest, DurableObjectAttachmentStore};
use crate::indexeddb::{BufferPut, IndexedDbAttachmentManifest, IndexedDbAttachmentStore};
use crate::manifest::AttachmentManifest;
use crate::memory::{HashedPut, InMemoryAttachmentManifest, InMemoryAttachmentStore};
use crate::session::SessionScopedAttachmentStore;
use crate::session_state::SessionState;
use crate::store::{record_intents_in_steps, AttachmentStore, AttachmentStorePersistence};

/// The session-scoped store behind the JavaScript `SessionScopedAttachmentStore`.
pub(crate) type JsSession = SessionScopedAttachmentStore<AnyStore, AnyManifest>;

/// A store of any kind.
#[derive(Clone)]
pub(crate) enum AnyStore {
    IndexedDb(IndexedDbAttachmentStore),
    #[cfg(feature = "durable-object")]
    DurableObject(DurableObjectAttachmentStore),
    Memory(InMemoryAttachmentStore),
    Session(Rc<JsSession>),
    Js(JsStore),
}

/// A manifest of any kind.
#[derive(Clone)]
pub(crate) enum AnyManifest {
    IndexedDb(IndexedDbAttachmentManifest),
    #[cfg(feature = "durable-object")]
    DurableObject(DurableObjectAttachmentManifest),
    Memory(InMemoryAttachmentManifest),
    Js(JsManifest),
}

/// What our store classes hand out to be recognised (not part of the public API).
#[wasm_bindgen]
pub struct StoreHandle(AnyStore);

/// What our manifest classes hand out to be recognised (not part of the public API).
#[wasm_bindgen]
pub struct ManifestHandle(AnyManifest);

/// The hidden method names.
pub(crate) const STORE_HANDLE_METHOD: &str = "__webAttachmentsStore";
pub(crate) const MANIFEST_HANDLE_METHOD: &str = "__webAttachmentsManifest";

fn handle_of(value: &JsValue, method: &str) -> Option<JsValue> {
    let function: Function = Reflect::get(value, &JsValue::from_str(method)).ok()?.dyn_into().ok()?;
    function.call0(value).ok()
}

impl AnyStore {
    /// Ours, or a JavaScript-implemented store.
    pub(crate) fn from_js(value: &JsValue) -> Result<Self> {
        match handle_of(value, STORE_HANDLE_METHOD).and_then(|handle| StoreHandle::try_from_js_value(handle).ok()) {
            Some(StoreHandle(store)) => Ok(store),
            None => JsStore::new(value.clone()).map(Self::Js),
        }
    }

    pub(crate) fn handle(&self) -> StoreHandle {
        StoreHandle(self.clone())
    }

    /// Puts bytes that are still in JavaScript; they enter wasm only for stores that live there
    /// (memory). IndexedDB takes large Blobs as they are; the others read them whole. On IndexedDB
    /// all items land in one transaction.
    pub(crate) async fn put_many_js(&self, items: Vec<(JsBytes, AttachmentCreateMeta)>) -> Result<Vec<AttachmentRef>> {
        match self {
            Self::IndexedDb(store) => store.put_buffers(None, buffer_puts(items)).await,
            Self::Session(session) => {
                let ids = items.iter().map(|(bytes, _)| bytes.id.clone()).collect();
                session
                    .put_many_via(ids, async |inner, manifest, intents| Box::pin(inner.put_many_js_with_intents(manifest, intents, items)).await)
                    .await
            }
            #[cfg(feature = "durable-object")]
            Self::DurableObject(store) => one_by_one(buffered(items).await?, async |(id, buffer, meta)| store.put_buffer(id, &buffer, meta).await).await,
            // Already hashed while read in: no second hash, one copy into wasm.
            Self::Memory(store) => store.put_hashed(None, hashed_puts(&buffered(items).await?)).await,
            Self::Js(store) => one_by_one(buffered(items).await?, async |(_, buffer, meta)| store.put_view(&Uint8Array::new(&buffer), &meta).await).await,
        }
    }

    /// [`Self::put_many_js`] with one intent per item recorded first (in the same transaction
    /// where the backend can).
    pub(crate) async fn put_many_js_with_intents(&self, manifest: &AnyManifest, intents: &[AttachmentIntent], items: Vec<(JsBytes, AttachmentCreateMeta)>) -> Result<Vec<AttachmentRef>> {
        match self {
            Self::IndexedDb(store) => store.put_buffers(Some((manifest, intents)), buffer_puts(items)).await,
            Self::Session(session) => Box::pin(session.inner().put_many_js_with_intents(manifest, intents, items)).await,
            #[cfg(feature = "durable-object")]
            Self::DurableObject(store) => {
                one_by_one(intents.iter().zip(buffered(items).await?), async |(intent, (id, buffer, meta))| {
                    store.put_buffer_with_intent(manifest, intent, id, &buffer, meta).await
                })
                .await
            }
            Self::Memory(store) => store.put_hashed(Some((manifest, intents)), hashed_puts(&buffered(items).await?)).await,
            Self::Js(_) => {
                record_intents_in_steps(manifest, intents).await?;
                self.put_many_js(items).await
            }
        }
    }

    /// Whether this store stores a `ReadableStream` as it arrives (Durable Objects, where a
    /// Worker's 128 MB cannot hold a large body) rather than gathered into a Blob first.
    pub(crate) fn streams_in(&self) -> bool {
        match self {
            #[cfg(feature = "durable-object")]
            Self::DurableObject(_) => true,
            Self::Session(session) => session.inner().streams_in(),
            _ => false,
        }
    }

    /// Stores `stream` as it arrives (see [`Self::streams_in`]); with `session`'s intent when given.
    pub(crate) async fn put_stream(&self, stream: &web_sys::ReadableStream, meta: AttachmentCreateMeta, session: Option<(&AnyManifest, &str)>) -> Result<AttachmentRef> {
        match self {
            #[cfg(feature = "durable-object")]
            Self::DurableObject(store) => {
                let session = session.map(|(manifest, id)| (manifest as &dyn AttachmentManifest, id));
                store.put_upload(&mut crate::body::StreamChunks::new(stream), meta, session).await
            }
            #[cfg(feature = "durable-object")]
            Self::Session(view) => view.put_unhashed_via(async |inner, manifest, session_id| Box::pin(inner.put_stream(stream, meta, Some((manifest, session_id)))).await).await,
            _ => {
                let _ = (stream, meta, session);
                Err(crate::AttachmentStoreError::backend("this store gathers streams before storing them"))
            }
        }
    }

    /// `start..end` of `id` (`end` exclusive, clamped to the length) without holding it all, with
    /// the metadata; `NotFound` up front.
    pub(crate) async fn read_body(&self, id: &AttachmentId, start: u64, end: Option<u64>) -> Result<(AttachmentRef, Body)> {
        match self {
            Self::IndexedDb(store) => store.read_body(id, start, end).await,
            #[cfg(feature = "durable-object")]
            Self::DurableObject(store) => store.read_body(id, start, end).await,
            Self::Memory(store) => store.read_body(id, start, end),
            Self::Session(session) => Box::pin(session.inner().read_body(id, start, end)).await,
            Self::Js(store) => {
                let (meta, bytes) = store.get_view(id).await?;
                let range = ByteRange::within(start, end, meta.byte_len)?;
                Ok((meta, Body::Chunks(Box::new(ViewChunks::new(bytes.subarray(range.start as u32, range.end as u32), u32::MAX)))))
            }
        }
    }

    /// Metadata and bytes as a fresh JavaScript view the caller owns.
    pub(crate) async fn get_js(&self, id: &AttachmentId) -> Result<(AttachmentRef, Uint8Array)> {
        match self {
            Self::IndexedDb(store) => store.get_buffer(id).await.map(|(meta, buffer)| (meta, Uint8Array::new(&buffer))),
            #[cfg(feature = "durable-object")]
            Self::DurableObject(store) => store.get_buffer(id).await.map(|(meta, buffer)| (meta, Uint8Array::new(&buffer))),
            Self::Memory(store) => store.get_shared(id).map(|(meta, bytes)| (meta, Uint8Array::from(bytes.as_slice()))),
            Self::Session(session) => Box::pin(session.inner().get_js(id)).await,
            Self::Js(store) => store.get_view(id).await,
        }
    }

    /// Releases what the store holds; later calls fail `Closed`.
    pub(crate) fn close(&self) {
        match self {
            Self::IndexedDb(store) => store.close(),
            #[cfg(feature = "durable-object")]
            Self::DurableObject(store) => store.close(),
            Self::Memory(store) => store.close(),
            Self::Session(session) => session.inner().close(),
            Self::Js(_) => {}
        }
    }
}

impl AnyManifest {
    /// Ours, or a JavaScript-implemented manifest.
    pub(crate) fn from_js(value: &JsValue) -> Result<Self> {
        match handle_of(value, MANIFEST_HANDLE_METHOD).and_then(|handle| ManifestHandle::try_from_js_value(handle).ok()) {
            Some(ManifestHandle(manifest)) => Ok(manifest),
            None => JsManifest::new(value.clone()).map(Self::Js),
        }
    }

    pub(crate) fn handle(&self) -> ManifestHandle {
        ManifestHandle(self.clone())
    }

    /// Whether a commit over this manifest can save a session's state (a JavaScript-implemented
    /// one needs `commitSession`).
    pub(crate) fn saves_state(&self) -> bool {
        match self {
            Self::Js(manifest) => manifest.has("commitSession"),
            _ => true,
        }
    }

    pub(crate) fn close(&self) {
        match self {
            Self::IndexedDb(manifest) => manifest.close(),
            // The manifest shares the store's state; closing the store closes both.
            #[cfg(feature = "durable-object")]
            Self::DurableObject(_) => {}
            Self::Js(_) => {}
            Self::Memory(manifest) => manifest.close(),
        }
    }
}

/// `match` over every store variant, binding the inner store.
macro_rules! each_store {
    ($value:expr, $inner:ident => $body:expr) => {
        match $value {
            Self::IndexedDb($inner) => $body,
            #[cfg(feature = "durable-object")]
            Self::DurableObject($inner) => $body,
            Self::Memory($inner) => $body,
            Self::Session($inner) => $body,
            Self::Js($inner) => $body,
        }
    };
}

/// `match` over every manifest variant, binding the inner manifest.
macro_rules! each_manifest {
    ($value:expr, $inner:ident => $body:expr) => {
        match $value {
            Self::IndexedDb($inner) => $body,
            #[cfg(feature = "durable-object")]
            Self::DurableObject($inner) => $body,
            Self::Memory($inner) => $body,
            Self::Js($inner) => $body,
        }
    };
}

#[async_trait(?Send)]
impl AttachmentStore for AnyStore {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        each_store!(self, s => s.put(bytes, meta).await)
    }
    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        each_store!(self, s => s.get(id).await)
    }
    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        each_store!(self, s => s.head(id).await)
    }
    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        each_store!(self, s => s.list().await)
    }
    async fn list_page(&self, after: Option<&AttachmentId>, limit: Option<usize>) -> Result<Vec<AttachmentRef>> {
        each_store!(self, s => s.list_page(after, limit).await)
    }
    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        each_store!(self, s => s.delete(id).await)
    }
    fn persistence(&self) -> AttachmentStorePersistence {
        each_store!(self, s => s.persistence())
    }
    fn pending_manifest_commit_ids(&self) -> Vec<AttachmentId> {
        each_store!(self, s => s.pending_manifest_commit_ids())
    }
    fn mark_manifest_committed(&self, ids: &[AttachmentId]) {
        each_store!(self, s => s.mark_manifest_committed(ids))
    }
    fn colocation(&self) -> Option<String> {
        each_store!(self, s => s.colocation())
    }
    async fn held_by_plain_put(&self, id: &AttachmentId) -> Result<bool> {
        each_store!(self, s => s.held_by_plain_put(id).await)
    }
    async fn commit_session(&self, manifest: &dyn AttachmentManifest, session_id: &str, pending: &[AttachmentId], state: Option<&SessionState>) -> Result<Vec<AttachmentId>> {
        each_store!(self, s => s.commit_session(manifest, session_id, pending, state).await)
    }
    async fn discard(&self, manifest: &dyn AttachmentManifest, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        // Spelled out: the session view's own `discard(ids)` would shadow the trait's.
        match self {
            Self::IndexedDb(s) => s.discard(manifest, session_id, ids).await,
            #[cfg(feature = "durable-object")]
            Self::DurableObject(s) => s.discard(manifest, session_id, ids).await,
            Self::Memory(s) => s.discard(manifest, session_id, ids).await,
            Self::Session(s) => AttachmentStore::discard(&**s, manifest, session_id, ids).await,
            Self::Js(s) => s.discard(manifest, session_id, ids).await,
        }
    }
    async fn put_with_intent(&self, manifest: &dyn AttachmentManifest, intent: &AttachmentIntent, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        each_store!(self, s => s.put_with_intent(manifest, intent, bytes, meta).await)
    }
    async fn reclaim_step(&self, manifest: &dyn AttachmentManifest, listed: &AttachmentManifestEntry, older_than_epoch_ms: i64) -> Result<SweepStepOutcome> {
        each_store!(self, s => s.reclaim_step(manifest, listed, older_than_epoch_ms).await)
    }
    fn reclaim_batch_size(&self) -> usize {
        each_store!(self, s => s.reclaim_batch_size())
    }
    async fn reclaim_abandoned_uploads(&self, older_than_epoch_ms: i64) -> Result<u64> {
        each_store!(self, s => s.reclaim_abandoned_uploads(older_than_epoch_ms).await)
    }
    async fn is_intact(&self, id: &AttachmentId) -> Result<bool> {
        each_store!(self, s => s.is_intact(id).await)
    }
    async fn drop_damaged(&self, id: &AttachmentId) -> Result<()> {
        each_store!(self, s => s.drop_damaged(id).await)
    }
    async fn reclaim_batch(&self, manifest: &dyn AttachmentManifest, listed: &[AttachmentManifestEntry], older_than_epoch_ms: i64) -> Result<Vec<SweepStepOutcome>> {
        each_store!(self, s => s.reclaim_batch(manifest, listed, older_than_epoch_ms).await)
    }
}

#[async_trait(?Send)]
impl AttachmentManifest for AnyManifest {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        each_manifest!(self, m => m.record_intent(intent).await)
    }
    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        each_manifest!(self, m => m.commit_refs(session_id, ids).await)
    }
    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        each_manifest!(self, m => m.list_uncommitted(older_than_epoch_ms).await)
    }
    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        each_manifest!(self, m => m.list_uncommitted_page(older_than_epoch_ms, after, limit).await)
    }
    async fn count_uncommitted(&self, older_than_epoch_ms: i64) -> Result<u64> {
        each_manifest!(self, m => m.count_uncommitted(older_than_epoch_ms).await)
    }
    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        each_manifest!(self, m => m.forget(attachment_id, session_id).await)
    }
    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        each_manifest!(self, m => m.entries_for(attachment_id).await)
    }
    fn colocation(&self) -> Option<String> {
        each_manifest!(self, m => m.colocation())
    }
    async fn uncommitted_rows_of(&self, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
        each_manifest!(self, m => m.uncommitted_rows_of(session_id).await)
    }
    async fn commit_session(&self, session_id: &str, ids: &[AttachmentId], state: Option<&SessionState>) -> Result<()> {
        each_manifest!(self, m => m.commit_session(session_id, ids, state).await)
    }
    async fn session_state(&self, session_id: &str) -> Result<Option<SessionState>> {
        each_manifest!(self, m => m.session_state(session_id).await)
    }
    async fn release_session(&self, session_id: &str) -> Result<()> {
        each_manifest!(self, m => m.release_session(session_id).await)
    }
}

/// Puts items one at a time, in order, for backends without a multi-item write.
async fn one_by_one<T>(items: impl IntoIterator<Item = T>, mut put: impl AsyncFnMut(T) -> Result<AttachmentRef>) -> Result<Vec<AttachmentRef>> {
    let mut written = Vec::new();
    for item in items {
        written.push(put(item).await?);
    }
    Ok(written)
}

/// Items as whole buffers, for stores that need them so (a Blob is read here).
async fn buffered(items: Vec<(JsBytes, AttachmentCreateMeta)>) -> Result<Vec<(AttachmentId, js_sys::ArrayBuffer, AttachmentCreateMeta)>> {
    let mut buffers = Vec::with_capacity(items.len());
    for (bytes, meta) in items {
        let (id, buffer) = bytes.into_buffer().await?;
        buffers.push((id, buffer, meta));
    }
    Ok(buffers)
}

/// The memory store's puts of bytes still in JavaScript: copied into wasm only if not stored yet.
fn hashed_puts(items: &[(AttachmentId, js_sys::ArrayBuffer, AttachmentCreateMeta)]) -> Vec<HashedPut<'_>> {
    items
        .iter()
        .map(|(id, buffer, meta)| HashedPut { id: id.clone(), byte_len: u64::from(buffer.byte_length()), meta: meta.clone(), copy: Box::new(|| Uint8Array::new(buffer).to_vec()) })
        .collect()
}

fn buffer_puts(items: Vec<(JsBytes, AttachmentCreateMeta)>) -> Vec<BufferPut> {
    items.into_iter().map(|(bytes, meta)| BufferPut { id: bytes.id, bytes: bytes.body, meta }).collect()
}
