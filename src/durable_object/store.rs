use std::cell::Cell;
use std::rc::Rc;

use async_trait::async_trait;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsValue;

use super::manifest::DurableObjectAttachmentManifest;
use super::storage::Storage;
use super::tables::{self, Keys};
use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::{content_id, AttachmentId};
use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentMeta, AttachmentRef, StoredAttachment};
use crate::core::sweep_rules::{plan_sweep_step, SweepStepOutcome};
use crate::manifest::AttachmentManifest;
use crate::session::SessionScopedAttachmentStore;
use crate::store::{reclaim_step_in_steps, record_intents_in_steps, AttachmentStore, AttachmentStorePersistence};

/// What a store and its manifest share.
pub(crate) struct Shared {
    pub(crate) storage: Storage,
    pub(crate) keys: Keys,
    /// Names this store for [`AttachmentStore::colocation`]: only its own manifest shares it.
    pub(crate) colocation: String,
    closed: Cell<bool>,
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
        Ok(Self { shared: Rc::new(Shared { storage, keys: Keys::new(prefix), colocation, closed: Cell::new(false) }) })
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

    /// Puts bytes that are already a JavaScript buffer hashing to `id`.
    pub(crate) async fn put_buffer(&self, id: AttachmentId, bytes: &ArrayBuffer, meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.shared.check_open()?;
        let reference = meta.into_ref(id, u64::from(bytes.byte_length()));
        let (shared, written, bytes) = (Rc::clone(&self.shared), reference.clone(), bytes.clone());
        self.shared
            .storage
            .transaction(async move |ops| tables::write_attachment(&ops, &shared.keys, &written, &bytes).await)
            .await?;
        Ok(reference)
    }

    /// [`Self::put_buffer`] with `intent` recorded in the same transaction when `manifest` is this
    /// store's own.
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
            return self.put_buffer(id, bytes, meta).await;
        }
        self.shared.check_open()?;
        let reference = meta.into_ref(id, u64::from(bytes.byte_length()));
        let (shared, written, bytes, intent) = (Rc::clone(&self.shared), reference.clone(), bytes.clone(), intent.clone());
        self.shared
            .storage
            .transaction(async move |ops| {
                tables::record_intent(&ops, &shared.keys, &intent).await?;
                tables::write_attachment(&ops, &shared.keys, &written, &bytes).await
            })
            .await?;
        Ok(reference)
    }

    /// Metadata and bytes, the bytes as one fresh JavaScript buffer.
    pub(crate) async fn get_buffer(&self, id: &AttachmentId) -> Result<(AttachmentMeta, ArrayBuffer)> {
        self.shared.check_open()?;
        let ops = self.shared.storage.ops();
        let meta = tables::read_meta(&ops, &self.shared.keys, id).await?.ok_or_else(|| AttachmentStoreError::not_found(id))?;
        let bytes = tables::read_bytes(&ops, &self.shared.keys, &meta).await?;
        Ok((meta, bytes))
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

    async fn delete(&self, id: &AttachmentId) -> Result<()> {
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
                let plan = plan_sweep_step(&listed, &tables::rows_of(&ops, &shared.keys, id).await?, older_than_epoch_ms);
                let mut deleted_bytes = None;
                if plan.delete_bytes {
                    deleted_bytes = tables::read_meta(&ops, &shared.keys, id).await?.map(|meta| meta.byte_len);
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
