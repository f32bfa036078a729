use std::rc::Rc;

use async_trait::async_trait;

use super::idb::{delete_database, Database, Mode};
use super::manifest::IndexedDbAttachmentManifest;
use super::schema::{self, BYTES, MANIFEST, META};
use super::tables;
use crate::core::error::{AttachmentStoreError, ErrorCode, Result};
use crate::core::id::{content_id, AttachmentId};
use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentRef, StoredAttachment};
use crate::core::sweep_rules::{plan_sweep_step, SweepStepOutcome};
use crate::manifest::AttachmentManifest;
use crate::session::SessionScopedAttachmentStore;
use js_sys::ArrayBuffer;

use crate::core::meta::AttachmentMeta;
use crate::store::{intent_failure, reclaim_step_in_steps, AttachmentStore, AttachmentStorePersistence};

/// The database name [`IndexedDbAttachmentStore::open`] uses by default in the JavaScript API.
pub const DEFAULT_DATABASE_NAME: &str = "web-attachments";

/// A durable store in IndexedDB. Clones share one connection; [`Self::manifest`] lives in the same
/// database and shares it too.
#[derive(Clone)]
pub struct IndexedDbAttachmentStore {
    db: Rc<Database>,
}

impl IndexedDbAttachmentStore {
    /// Opens (creating or upgrading) database `name`. Works in windows and workers.
    pub async fn open(name: &str) -> Result<Self> {
        let db = Database::open(name, schema::VERSION, schema::upgrade).await?;
        Ok(Self { db })
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

    /// Puts bytes that are already a JavaScript `ArrayBuffer` (exact length, held by no one else)
    /// and whose SHA-256 is `id`, so they never need to enter wasm memory.
    pub(crate) async fn put_buffer(&self, id: AttachmentId, bytes: &ArrayBuffer, meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        let reference = meta.into_ref(id, u64::from(bytes.byte_length()));
        self.db.run(&[BYTES, META], Mode::Write, async |tx| tables::write_attachment(tx, &reference, bytes)).await?;
        Ok(reference)
    }

    /// [`Self::put_buffer`] with `intent` recorded first: one transaction when `manifest` is in
    /// this database, so bytes never exist without an intent row; two steps otherwise.
    pub(crate) async fn put_buffer_with_intent(
        &self,
        manifest: &dyn AttachmentManifest,
        intent: &AttachmentIntent,
        id: AttachmentId,
        bytes: &ArrayBuffer,
        meta: AttachmentCreateMeta,
    ) -> Result<AttachmentRef> {
        intent.validate()?;
        if id != intent.attachment_id {
            return Err(AttachmentStoreError::invalid_input(format!("the intent names {} but the bytes hash to {id}", intent.attachment_id)));
        }
        if !self.shares_database_with(manifest) {
            manifest.record_intent(intent).await.map_err(intent_failure)?;
            return self.put_buffer(id, bytes, meta).await;
        }
        let reference = meta.into_ref(id, u64::from(bytes.byte_length()));
        self.db
            .run(&[MANIFEST, BYTES, META], Mode::Write, async |tx| {
                tables::record_intent(tx, intent).await?;
                tables::write_attachment(tx, &reference, bytes)
            })
            .await?;
        Ok(reference)
    }

    /// Metadata and bytes, the bytes as the engine's fresh `ArrayBuffer` (no copy into wasm).
    pub(crate) async fn get_buffer(&self, id: &AttachmentId) -> Result<(AttachmentMeta, ArrayBuffer)> {
        match self.db.run(&[BYTES, META], Mode::Read, async |tx| tables::read_attachment(tx, id).await).await? {
            (Some(meta), Some(bytes)) => Ok((meta, bytes)),
            (None, Some(_)) => Err(AttachmentStoreError::new(ErrorCode::MissingMeta, format!("attachment {id} has bytes but no metadata"))),
            (_, None) => Err(AttachmentStoreError::not_found(id)),
        }
    }
}

#[async_trait(?Send)]
impl AttachmentStore for IndexedDbAttachmentStore {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.put_buffer(content_id(bytes), &tables::bytes_to_buffer(bytes), meta).await
    }

    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        let (meta, bytes) = self.get_buffer(id).await?;
        Ok(StoredAttachment { meta, bytes: js_sys::Uint8Array::new(&bytes).to_vec() })
    }

    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        self.db.run(&[META], Mode::Read, async |tx| tables::read_meta(tx, id).await).await
    }

    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        self.db.run(&[META], Mode::Read, async |tx| tables::list_meta(tx).await).await
    }

    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        self.db.run(&[BYTES, META], Mode::Write, async |tx| tables::delete_attachment(tx, id)).await
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
        self.put_buffer_with_intent(manifest, intent, content_id(bytes), &tables::bytes_to_buffer(bytes), meta).await
    }

    /// Re-check and deletes in one transaction over manifest, bytes and metadata when `manifest`
    /// is in this database: a put or commit from another connection lands either before (and is
    /// seen) or after (and finds no bytes to lose).
    async fn reclaim_step(
        &self,
        manifest: &dyn AttachmentManifest,
        listed: &AttachmentManifestEntry,
        older_than_epoch_ms: i64,
    ) -> Result<SweepStepOutcome> {
        if !self.shares_database_with(manifest) {
            return reclaim_step_in_steps(self, manifest, listed, older_than_epoch_ms).await;
        }
        let id = &listed.attachment_id;
        self.db
            .run(&[MANIFEST, BYTES, META], Mode::Write, async |tx| {
                let plan = plan_sweep_step(listed, &tables::rows_of(tx, id).await?, older_than_epoch_ms);
                let mut deleted_bytes = None;
                if plan.delete_bytes {
                    deleted_bytes = tables::read_meta(tx, id).await?.map(|meta| meta.byte_len);
                    tables::delete_attachment(tx, id)?;
                }
                for (session_id, row_id) in &plan.forget {
                    tables::delete_rows(tx, row_id, Some(session_id)).await?;
                }
                Ok(SweepStepOutcome { reclaimed_rows: plan.forget.len() as u64, deleted_bytes })
            })
            .await
    }
}
