//! The exported classes. Each method only converts and validates its arguments, then calls the
//! shared implementation; rejections are `AttachmentStoreError`s.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::any::{AnyManifest, AnyStore, JsSession, ManifestHandle, StoreHandle};
use super::convert::{self, BytesArg, JsBytes, Transfer};
use super::foreign::state_to_js;
use super::error;
use crate::core::error::{AttachmentStoreError, Result};
use crate::indexeddb::DEFAULT_DATABASE_NAME;
use crate::memory::InMemoryAttachmentStore;
use crate::records::{to_array, FromJs, ToJs};
use crate::{AttachmentIntent, AttachmentManifest, AttachmentStore};

/// Runs `future` as a promise whose rejections are `AttachmentStoreError`s. Boxed on purpose:
/// one instance of the task machinery for every method instead of one copy each keeps the wasm
/// small.
pub(crate) fn promise(future: impl Future<Output = Result<JsValue>> + 'static) -> Promise {
    settle_boxed(Box::pin(future))
}

fn settle_boxed(future: std::pin::Pin<Box<dyn Future<Output = Result<JsValue>>>>) -> Promise {
    super::task::spawn(Box::pin(async move { future.await.map_err(error::to_js) }))
}

/// A synchronous result whose error is thrown as an `AttachmentStoreError`.
pub(crate) fn thrown<T>(result: Result<T>) -> std::result::Result<T, JsValue> {
    result.map_err(error::to_js)
}

// The store operations every store class shares.

fn put(store: AnyStore, bytes: JsValue, meta: JsValue, options: JsValue) -> Promise {
    promise(async move {
        let meta = convert::create_meta(&meta, &bytes)?;
        if let (Some(stream), true) = (bytes.dyn_ref::<web_sys::ReadableStream>(), store.streams_in()) {
            Transfer::from_options(&options)?;
            if stream.locked() {
                return Err(AttachmentStoreError::invalid_input("bytes are a ReadableStream that is locked (another reader holds it)"));
            }
            return Ok(store.put_stream(stream, meta, None).await?.to_js());
        }
        let bytes = JsBytes::read(&bytes, Transfer::from_options(&options)?).await?;
        let written = store.put_many_js(vec![(bytes, meta)]).await?;
        Ok(written[0].to_js())
    })
}

fn put_many(store: AnyStore, items: JsValue, options: JsValue) -> Promise {
    promise(async move {
        // Everything is checked and hashed before anything is written: a bad item writes nothing
        // (and, with `transfer`, moves nothing).
        let list = convert::array(&items, "putMany's items")?;
        let transfer = Transfer::from_options(&options)?;
        let item_context = |index: usize| format!("items[{index}]");
        let mut metas = Vec::with_capacity(list.length() as usize);
        let mut args = Vec::with_capacity(list.length() as usize);
        for (index, item) in list.iter().enumerate() {
            convert::expect_object(&item, &item_context(index))?;
            let bytes = convert::field(&item, "bytes")?;
            metas.push(convert::create_meta(&convert::field(&item, "meta")?, &bytes).map_err(|e| e.context(&item_context(index)))?);
            args.push(BytesArg::check(&bytes).map_err(|e| e.context(&item_context(index)))?);
        }
        let bytes = JsBytes::read_all(args, transfer).await.map_err(|(index, e)| e.context(&item_context(index)))?;
        Ok(to_array(&store.put_many_js(bytes.into_iter().zip(metas).collect()).await?))
    })
}

/// An id to read: a malformed one names nothing (`NotFound`).
fn id_to_read(id: &JsValue) -> Result<crate::AttachmentId> {
    convert::id_lookup(id)?.ok_or_else(|| {
        AttachmentStoreError::not_found(format!("{} (not an attachment id)", crate::core::id::quote_for_message(&id.as_string().unwrap_or_default())))
    })
}

fn get(store: AnyStore, id: JsValue) -> Promise {
    promise(async move {
        let (meta, bytes) = store.get_js(&id_to_read(&id)?).await?;
        Ok(convert::stored(&meta, &bytes))
    })
}

fn get_blob(store: AnyStore, id: JsValue, range: JsValue) -> Promise {
    promise(async move {
        let (start, end) = convert::range(&range)?;
        let (meta, body) = store.read_body(&id_to_read(&id)?, start, end).await?;
        Ok(super::stream::into_blob(body, meta.media_type.as_str()).await?.into())
    })
}

fn get_stream(store: AnyStore, id: JsValue, range: JsValue) -> Promise {
    promise(async move {
        let (start, end) = convert::range(&range)?;
        let (_, body) = store.read_body(&id_to_read(&id)?, start, end).await?;
        Ok(super::stream::readable(body)?.into())
    })
}

fn get_data_url(store: AnyStore, id: JsValue) -> Promise {
    promise(async move {
        let (meta, bytes) = store.get_js(&id_to_read(&id)?).await?;
        Ok(convert::data_url(&meta.media_type, &bytes))
    })
}

fn head(store: AnyStore, id: JsValue) -> Promise {
    promise(async move {
        match convert::id_lookup(&id)? {
            Some(id) => Ok(store.head(&id).await?.map_or(JsValue::UNDEFINED, |meta| meta.to_js())),
            None => Ok(JsValue::UNDEFINED),
        }
    })
}

fn list(store: AnyStore, options: JsValue) -> Promise {
    promise(async move {
        let listed = match convert::list_page(&options)? {
            (None, None) => store.list().await?,
            (after, limit) => store.list_page(after.as_ref(), limit).await?,
        };
        Ok(to_array(&listed))
    })
}

fn session_state(manifest: AnyManifest, session_id: JsValue) -> Promise {
    promise(async move {
        let state = manifest.session_state(&convert::session_id(&session_id)?).await?;
        Ok(state.as_ref().map_or(JsValue::UNDEFINED, state_to_js))
    })
}

fn release_session(manifest: AnyManifest, session_id: JsValue) -> Promise {
    promise(async move {
        manifest.release_session(&convert::session_id(&session_id)?).await?;
        Ok(JsValue::UNDEFINED)
    })
}

fn ids_to_js(ids: &[crate::AttachmentId]) -> JsValue {
    ids.iter().map(|id| JsValue::from_str(id.as_str())).collect::<Array>().into()
}

fn verify(store: AnyStore, options: JsValue) -> Promise {
    promise(async move {
        let controls = super::controls::Controls::read(&options)?;
        let mut on_progress = |done, total| controls.progress(done, total);
        let is_aborted = || controls.should_stop();
        let options = crate::VerifyOptions { on_progress: Some(&mut on_progress), is_aborted: Some(&is_aborted) };
        let outcome = crate::verify_attachments(&store, options).await;
        Ok(controls.finish(outcome)?.to_js())
    })
}

fn delete(store: AnyStore, id: JsValue) -> Promise {
    promise(async move {
        if let Some(id) = convert::id_lookup(&id)? {
            store.delete(&id).await?;
        }
        Ok(JsValue::UNDEFINED)
    })
}

/// The members every store class has (contract §2).
macro_rules! store_members {
    ($rust:ident, $js:literal) => {
        #[wasm_bindgen(js_class = $js)]
        impl $rust {
            /// Stores bytes under their SHA-256; `options.transfer` hands the buffer over.
            pub fn put(&self, bytes: JsValue, meta: JsValue, options: JsValue) -> Promise {
                put(self.any(), bytes, meta, options)
            }
            /// Stores many attachments at once (one transaction on IndexedDB); all or none.
            #[wasm_bindgen(js_name = putMany)]
            pub fn put_many(&self, items: JsValue, options: JsValue) -> Promise {
                put_many(self.any(), items, options)
            }
            /// Metadata and bytes; rejects `NotFound`.
            pub fn get(&self, id: JsValue) -> Promise {
                get(self.any(), id)
            }
            /// The bytes (or `range`: `{ start, end? }`, `end` exclusive) as a `Blob` of the media
            /// type; read only when the caller reads it where they are stored as a Blob.
            #[wasm_bindgen(js_name = getBlob)]
            pub fn get_blob(&self, id: JsValue, range: JsValue) -> Promise {
                get_blob(self.any(), id, range)
            }
            /// The bytes (or `range`) as a `ReadableStream<Uint8Array>`, read in bounded memory;
            /// rejects `NotFound` up front.
            #[wasm_bindgen(js_name = getStream)]
            pub fn get_stream(&self, id: JsValue, range: JsValue) -> Promise {
                get_stream(self.any(), id, range)
            }
            /// `data:<mediaType>;base64,...`, what model SDKs take; rejects `NotFound`.
            #[wasm_bindgen(js_name = getDataUrl)]
            pub fn get_data_url(&self, id: JsValue) -> Promise {
                get_data_url(self.any(), id)
            }
            /// Metadata only, or `undefined`.
            pub fn head(&self, id: JsValue) -> Promise {
                head(self.any(), id)
            }
            /// Every stored attachment's metadata, ordered by id; `options`: `{ after?, limit? }`
            /// for a page (the ids after `after`, at most `limit` of them).
            pub fn list(&self, options: JsValue) -> Promise {
                list(self.any(), options)
            }
            /// Deletes unconditionally; idempotent.
            pub fn delete(&self, id: JsValue) -> Promise {
                delete(self.any(), id)
            }
            /// Re-hashes every attachment in bounded memory; removes the bytes and metadata of
            /// each damaged one (its manifest rows stay, so a re-put heals it) and reports it.
            /// `options`: `{ signal?, onProgress?(done, total) }`.
            pub fn verify(&self, options: JsValue) -> Promise {
                verify(self.any(), options)
            }
            /// `"durable"` or `"ephemeral"`.
            #[wasm_bindgen(getter)]
            pub fn persistence(&self) -> String {
                self.any().persistence().as_str().to_owned()
            }
            /// Releases the store; later calls reject `Closed`.
            pub fn close(&self) {
                self.any().close()
            }
            /// The state the session last committed (`commit(state)`), or `undefined`.
            #[wasm_bindgen(js_name = sessionState)]
            pub fn session_state(&self, session_id: JsValue) -> Promise {
                session_state(self.any_manifest(), session_id)
            }
            /// A deleted conversation: its rows lose their commits and its state is deleted, in
            /// one transaction; a later sweep reclaims what no other session holds.
            #[wasm_bindgen(js_name = releaseSession)]
            pub fn release_session(&self, session_id: JsValue) -> Promise {
                release_session(self.any_manifest(), session_id)
            }
            /// Lets our functions recognise this store (not public API).
            #[wasm_bindgen(js_name = "__webAttachmentsStore")]
            pub fn store_handle(&self) -> StoreHandle {
                self.any().handle()
            }
        }
    };
}

/// The members every manifest class has (contract §3).
macro_rules! manifest_members {
    ($rust:ident, $js:literal) => {
        #[wasm_bindgen(js_class = $js)]
        impl $rust {
            /// Inserts or refreshes that session's row; keeps an existing commit.
            #[wasm_bindgen(js_name = recordIntent)]
            pub fn record_intent(&self, intent: JsValue) -> Promise {
                let manifest = self.any();
                promise(async move {
                    manifest.record_intent(&AttachmentIntent::from_js(&intent)?).await?;
                    Ok(JsValue::UNDEFINED)
                })
            }
            /// Stamps that session's uncommitted rows of `ids`; never inserts.
            #[wasm_bindgen(js_name = commitRefs)]
            pub fn commit_refs(&self, session_id: JsValue, ids: JsValue) -> Promise {
                let manifest = self.any();
                promise(async move {
                    let (session_id, ids) = (convert::session_id(&session_id)?, convert::id_list(&ids)?);
                    manifest.commit_refs(&session_id, &ids).await?;
                    Ok(JsValue::UNDEFINED)
                })
            }
            /// Uncommitted rows intended at or before the threshold, oldest first; with `{ after,
            /// limit }`, the page of at most `limit` rows after the row `after`.
            #[wasm_bindgen(js_name = listUncommitted)]
            pub fn list_uncommitted(&self, older_than_epoch_ms: JsValue, options: JsValue) -> Promise {
                let manifest = self.any();
                promise(async move {
                    let older_than = convert::epoch_ms(&older_than_epoch_ms, &"olderThanEpochMs")?;
                    let rows = match convert::uncommitted_page(&options)? {
                        (None, None) => manifest.list_uncommitted(older_than).await?,
                        (after, limit) => manifest.list_uncommitted_page(older_than, after.as_ref(), limit.unwrap_or(usize::MAX)).await?,
                    };
                    Ok(to_array(&rows))
                })
            }
            /// Drops that session's row, or every row of the id.
            pub fn forget(&self, attachment_id: JsValue, session_id: JsValue) -> Promise {
                let manifest = self.any();
                promise(async move {
                    let id = convert::id_lookup(&attachment_id)?;
                    let session = if session_id.is_undefined() || session_id.is_null() { None } else { Some(convert::session_id(&session_id)?) };
                    if let Some(id) = id {
                        manifest.forget(&id, session.as_deref()).await?;
                    }
                    Ok(JsValue::UNDEFINED)
                })
            }
            /// Every row of an attachment, whatever its session.
            #[wasm_bindgen(js_name = entriesFor)]
            pub fn entries_for(&self, attachment_id: JsValue) -> Promise {
                let manifest = self.any();
                promise(async move {
                    match convert::id_lookup(&attachment_id)? {
                        Some(id) => Ok(to_array(&manifest.entries_for(&id).await?)),
                        None => Ok(Array::new().into()),
                    }
                })
            }
            /// Releases the manifest; later calls reject `Closed`.
            pub fn close(&self) {
                self.any().close()
            }
            /// Lets our functions recognise this manifest (not public API).
            #[wasm_bindgen(js_name = "__webAttachmentsManifest")]
            pub fn manifest_handle(&self) -> ManifestHandle {
                self.any().handle()
            }
        }
    };
}

fn new_session(store: AnyStore, manifest: AnyManifest, session_id: &str) -> Result<SessionScopedAttachmentStore> {
    let session = JsSession::new(store, manifest, session_id)?;
    Ok(SessionScopedAttachmentStore { session: Rc::new(session) })
}

/// The objects a store class hands out that are the same on every access: its `manifest`, and one
/// session view per session id (so every part of a page shares one pending list).
#[derive(Default)]
struct Views {
    manifest: OnceCell<JsValue>,
    sessions: RefCell<HashMap<String, JsValue>>,
}

impl Views {
    fn manifest(&self, make: impl FnOnce() -> JsValue) -> JsValue {
        self.manifest.get_or_init(make).clone()
    }

    fn session(&self, session_id: &JsValue, store: AnyStore, manifest: AnyManifest) -> Result<JsValue> {
        let session_id = convert::session_id(session_id)?;
        if let Some(view) = self.sessions.borrow().get(&session_id) {
            return Ok(view.clone());
        }
        let view: JsValue = new_session(store, manifest, &session_id)?.into();
        self.sessions.borrow_mut().insert(session_id, view.clone());
        Ok(view)
    }
}

/// A durable store in IndexedDB.
#[wasm_bindgen]
pub struct IndexedDbAttachmentStore {
    store: crate::indexeddb::IndexedDbAttachmentStore,
    views: Views,
}

#[wasm_bindgen]
impl IndexedDbAttachmentStore {
    /// Opens (creating or upgrading) the database `name` (default `"web-attachments"`).
    /// `options.storeBlobs`: `false` stores large Blobs as chunked buffers, as engines without
    /// reliable Blob storage do (default: probed). `options.verifyReads`: every read checks the
    /// bytes' hash before it returns them (a stream errors at its end; default `false`).
    pub fn open(name: JsValue, options: JsValue) -> Promise {
        promise(async move {
            let name = if name.is_undefined() { DEFAULT_DATABASE_NAME.to_owned() } else { convert::string(&name, &"the database name")? };
            if name.is_empty() {
                return Err(AttachmentStoreError::invalid_input("the database name must not be empty"));
            }
            let mut open = crate::indexeddb::OpenOptions::default();
            if !convert::is_absent(&options) {
                convert::expect_object(&options, &"options")?;
                let flag = |name: &str| -> Result<Option<bool>> {
                    let value = convert::field(&options, name)?;
                    if convert::is_absent(&value) {
                        return Ok(None);
                    }
                    value.as_bool().map(Some).ok_or_else(|| AttachmentStoreError::invalid_input(format!("options.{name} must be a boolean, got {}", convert::describe_value(&value))))
                };
                open.store_blobs = flag("storeBlobs")?;
                open.verify_reads = flag("verifyReads")?.unwrap_or(false);
            }
            let store = crate::indexeddb::IndexedDbAttachmentStore::open_with(&name, open).await?;
            Ok(Self { store, views: Views::default() }.into())
        })
    }

    /// Whether large Blobs, Files and streams are stored as Blobs on this connection (a probe
    /// decides, once, unless `open`'s `storeBlobs` did): for diagnostics.
    #[wasm_bindgen(js_name = storesBlobs)]
    pub fn stores_blobs(&self) -> Promise {
        let store = self.store.clone();
        promise(async move { Ok(JsValue::from_bool(store.stores_blobs().await)) })
    }

    /// The database name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.store.name().to_owned()
    }

    /// `{ kind, message }` when the engine, opening the database, found it damaged and discarded
    /// everything in it (Chromium: `kind` `"total"`), so a host can tell an emptied store from a
    /// new one; else `undefined`.
    #[wasm_bindgen(getter, js_name = dataLoss)]
    pub fn data_loss(&self) -> JsValue {
        self.store.data_loss().map_or(JsValue::UNDEFINED, |loss| {
            let object = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&object, &"kind".into(), &loss.kind.into());
            let _ = js_sys::Reflect::set(&object, &"message".into(), &loss.message.into());
            object.into()
        })
    }

    /// The manifest in the same database (the same object on every access).
    #[wasm_bindgen(getter)]
    pub fn manifest(&self) -> JsValue {
        self.views.manifest(|| IndexedDbAttachmentManifest { manifest: self.store.manifest() }.into())
    }

    /// The session-scoped view of `sessionId` (the same object on every call): intent, bytes and
    /// metadata in one transaction per put.
    pub fn session(&self, session_id: JsValue) -> std::result::Result<JsValue, JsValue> {
        thrown(self.views.session(&session_id, self.any(), self.any_manifest()))
    }

    fn any(&self) -> AnyStore {
        AnyStore::IndexedDb(self.store.clone())
    }

    fn any_manifest(&self) -> AnyManifest {
        AnyManifest::IndexedDb(self.store.manifest())
    }

    /// Deletes database `name` and everything in it.
    #[wasm_bindgen(js_name = deleteDatabase)]
    pub fn delete_database(name: JsValue) -> Promise {
        promise(async move {
            crate::indexeddb::IndexedDbAttachmentStore::delete_database(&convert::string(&name, &"the database name")?).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}


store_members!(IndexedDbAttachmentStore, "IndexedDbAttachmentStore");

/// An ephemeral store in memory, with its own manifest.
#[wasm_bindgen]
pub struct MemoryAttachmentStore {
    store: InMemoryAttachmentStore,
    views: Views,
}

#[wasm_bindgen]
impl MemoryAttachmentStore {
    /// An empty store.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self { store: InMemoryAttachmentStore::new(), views: Views::default() }
    }

    /// The manifest that goes with this store (the same object on every access).
    #[wasm_bindgen(getter)]
    pub fn manifest(&self) -> JsValue {
        self.views.manifest(|| MemoryAttachmentManifest { manifest: self.store.manifest() }.into())
    }

    /// The session-scoped view of `sessionId` over this store and its manifest (the same object on
    /// every call).
    pub fn session(&self, session_id: JsValue) -> std::result::Result<JsValue, JsValue> {
        thrown(self.views.session(&session_id, self.any(), self.any_manifest()))
    }

    fn any(&self) -> AnyStore {
        AnyStore::Memory(self.store.clone())
    }

    fn any_manifest(&self) -> AnyManifest {
        AnyManifest::Memory(self.store.manifest())
    }
}

store_members!(MemoryAttachmentStore, "MemoryAttachmentStore");

/// A store for one session: records intents before bytes land and tracks pending ids.
#[wasm_bindgen]
pub struct SessionScopedAttachmentStore {
    session: Rc<JsSession>,
}

#[wasm_bindgen]
impl SessionScopedAttachmentStore {
    /// A session view over any store and manifest (ours or JavaScript-implemented).
    #[wasm_bindgen(constructor)]
    pub fn new(store: JsValue, manifest: JsValue, session_id: JsValue) -> std::result::Result<SessionScopedAttachmentStore, JsValue> {
        thrown((|| new_session(AnyStore::from_js(&store)?, AnyManifest::from_js(&manifest)?, &convert::session_id(&session_id)?))())
    }

    /// The session this view writes as.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.session.session_id().to_owned()
    }

    /// Ids put through this view and not yet committed, in put order.
    #[wasm_bindgen(js_name = pendingManifestCommitIds)]
    pub fn pending_manifest_commit_ids(&self) -> Array {
        self.session.pending_manifest_commit_ids().iter().map(|id| JsValue::from_str(id.as_str())).collect()
    }

    /// Forgets `ids` from the pending list.
    #[wasm_bindgen(js_name = markManifestCommitted)]
    pub fn mark_manifest_committed(&self, ids: JsValue) -> std::result::Result<(), JsValue> {
        let ids = thrown(convert::id_list(&ids))?;
        self.session.mark_manifest_committed(&ids);
        Ok(())
    }

    /// Commits the session (this view's pending ids and every uncommitted row it has), saving
    /// `state` with it when given; all in one transaction, or nothing and `NotFound` with
    /// `error.ids` = the ids that are gone.
    pub fn commit(&self, state: JsValue) -> Promise {
        let session = Rc::clone(&self.session);
        promise(async move {
            let state = convert::session_state(&state);
            if state.is_some() && !session.manifest().saves_state() {
                return Err(AttachmentStoreError::invalid_input("commit(state) needs a manifest with commitSession(sessionId, ids, state); this one has none"));
            }
            let ids = match state {
                Some(state) => session.commit_with_state(state).await?,
                None => session.commit().await?,
            };
            Ok(ids_to_js(&ids))
        })
    }

    /// Drops `ids` from pending; forgets this session's uncommitted rows of them and deletes their
    /// bytes unless another row of the attachment exists or a plain put holds it.
    pub fn discard(&self, ids: JsValue) -> Promise {
        let session = Rc::clone(&self.session);
        promise(async move {
            session.discard(&convert::id_list(&ids)?).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The ids of the session's uncommitted rows, whoever put them.
    pub fn pending(&self) -> Promise {
        let session = Rc::clone(&self.session);
        promise(async move { Ok(ids_to_js(&session.pending().await?)) })
    }

    fn any(&self) -> AnyStore {
        AnyStore::Session(Rc::clone(&self.session))
    }

    fn any_manifest(&self) -> AnyManifest {
        self.session.manifest().clone()
    }
}

store_members!(SessionScopedAttachmentStore, "SessionScopedAttachmentStore");

/// The manifest in an IndexedDB store's database (`store.manifest`).
#[wasm_bindgen]
pub struct IndexedDbAttachmentManifest {
    manifest: crate::indexeddb::IndexedDbAttachmentManifest,
}

impl IndexedDbAttachmentManifest {
    fn any(&self) -> AnyManifest {
        AnyManifest::IndexedDb(self.manifest.clone())
    }
}

manifest_members!(IndexedDbAttachmentManifest, "IndexedDbAttachmentManifest");

/// An ephemeral manifest in memory.
#[wasm_bindgen]
pub struct MemoryAttachmentManifest {
    manifest: crate::memory::InMemoryAttachmentManifest,
}

#[wasm_bindgen]
impl MemoryAttachmentManifest {
    /// An empty manifest.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self { manifest: crate::memory::InMemoryAttachmentManifest::new() }
    }
}

impl MemoryAttachmentManifest {
    fn any(&self) -> AnyManifest {
        AnyManifest::Memory(self.manifest.clone())
    }
}

manifest_members!(MemoryAttachmentManifest, "MemoryAttachmentManifest");

#[cfg(feature = "durable-object")]
mod durable_object;
