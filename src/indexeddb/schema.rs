//! The database layout and how to reach it from any earlier version.
//!
//! Version 1:
//! - `bytes`: out-of-line key = attachment id, value = an exact-length `ArrayBuffer` (from
//!   version 2, bytes up to 64 KiB: see below); bytes over 32 MiB are split (engines cap one
//!   value, Chromium near 127 MiB): the first chunk under `<id>`, the rest under `<id>#000001`,
//!   `<id>#000002`, ...
//! - `meta`: key path `id`, value = the attachment's metadata (camelCase, as JavaScript sees it).
//! - `manifest`: key path `[sessionId, attachmentId]`, with indexes `byAttachment`
//!   (`attachmentId`) and `byIntentAt` (`intentAtEpochMs`).
//!
//! Version 2 (same stores): bytes up to 64 KiB are stored as their metadata row plus a `bytes`
//! property holding the `ArrayBuffer`, so a small get reads one record. Larger bytes stay bare
//! `ArrayBuffer`s. Nothing is moved on upgrade: a bare small `ArrayBuffer` (written by version 1)
//! still reads, with its metadata from `meta`, and the next put of that content rewrites it. The
//! version is bumped so a version-1 build refuses these records instead of misreading them.
//!
//! Version 3:
//! - `sessions`: key path `sessionId`, value = the state a session last committed (`{ sessionId,
//!   value }` for a JavaScript value, `{ sessionId, bytes }` for bytes).
//! - `meta` rows of bytes a plain put holds (`store.put`, outside any session) carry `plain:
//!   true`: no sweep or discard deletes them. The upgrade marks every attachment that has no
//!   manifest row (no session wrote it, so a plain put did); attachments with rows keep the
//!   version-2 behaviour until their next plain put.
//!
//! Version 4:
//! - `bytes` values may be a `Blob`: large bytes put as a Blob, File or stream, where the engine
//!   keeps Blobs reliably (probed once per connection, see `IndexedDbAttachmentStore::stores_blobs`);
//!   elsewhere chunked `ArrayBuffer`s as before. Nothing is moved on upgrade: every earlier record
//!   reads as it did.
//! - `probe`: scratch space for that probe (empty between probes).
//!
//! Version 5:
//! - `manifest` rows carry `uncommittedAt` (their intent time) while uncommitted, and only then;
//!   the index `byUncommitted` (`[uncommittedAt, sessionId, attachmentId]`) therefore holds the
//!   sweep's candidates, oldest first, and no committed row: listing them a page at a time and
//!   counting them read nothing else. The upgrade adds the property to every uncommitted row.
//!
//! Version 6:
//! - `manifest` loses the index `byIntentAt`: since version 5 the sweep and `listUncommitted` read
//!   `byUncommitted`, so `byIntentAt` was written on every row write and read by nothing.
//!
//! To change the layout: bump [`VERSION`] and add a step to [`upgrade`] that brings version N-1 to
//! N. A fresh database runs every step in order; an existing one runs only the missing ones.

use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbIndexParameters, IdbObjectStoreParameters, IdbTransaction};

use super::idb::{array_of, rewrite_each, rewrite_each_by_count};

/// The schema version this library writes.
pub(crate) const VERSION: u32 = 6;

/// Object store of attachment bytes.
pub(crate) const BYTES: &str = "bytes";
/// Object store of attachment metadata.
pub(crate) const META: &str = "meta";
/// Object store of manifest rows.
pub(crate) const MANIFEST: &str = "manifest";
/// Index of `MANIFEST` by `attachmentId`.
pub(crate) const BY_ATTACHMENT: &str = "byAttachment";
/// Index of `MANIFEST` by `intentAtEpochMs` (versions 1-5; dropped by version 6).
const BY_INTENT_AT: &str = "byIntentAt";
/// Index of `MANIFEST` by `[uncommittedAt, sessionId, attachmentId]`: uncommitted rows only (version 5).
pub(crate) const BY_UNCOMMITTED: &str = "byUncommitted";
/// Object store of session states (version 3).
pub(crate) const SESSIONS: &str = "sessions";
/// Scratch object store for the Blob probe (version 4).
pub(crate) const PROBE_STORE: &str = "probe";

/// Runs inside the `versionchange` transaction of an open that found `old_version` (0 when new).
pub(crate) fn upgrade(db: &IdbDatabase, tx: &IdbTransaction, old_version: u32) -> Result<(), JsValue> {
    if old_version < 1 {
        db.create_object_store(BYTES)?;
        let meta = IdbObjectStoreParameters::new();
        meta.set_key_path(&JsValue::from_str("id"));
        db.create_object_store_with_optional_parameters(META, &meta)?;
        let manifest = IdbObjectStoreParameters::new();
        manifest.set_key_path(&array_of(&["sessionId", "attachmentId"]));
        let rows = db.create_object_store_with_optional_parameters(MANIFEST, &manifest)?;
        let non_unique = IdbIndexParameters::new();
        non_unique.set_unique(false);
        rows.create_index_with_str_and_optional_parameters(BY_ATTACHMENT, "attachmentId", &non_unique)?;
        rows.create_index_with_str_and_optional_parameters(BY_INTENT_AT, "intentAtEpochMs", &non_unique)?;
    }
    // Version 2 changed what new small records look like, not the stores: nothing to do.
    if old_version < 3 {
        let sessions = IdbObjectStoreParameters::new();
        sessions.set_key_path(&JsValue::from_str("sessionId"));
        db.create_object_store_with_optional_parameters(SESSIONS, &sessions)?;
        if old_version > 0 {
            mark_plain_puts(tx)?;
        }
    }
    if old_version < 4 {
        db.create_object_store(PROBE_STORE)?;
    }
    if old_version < 5 {
        let rows = tx.object_store(MANIFEST)?;
        let non_unique = IdbIndexParameters::new();
        non_unique.set_unique(false);
        let key_path = array_of(&[crate::records::UNCOMMITTED_FIELD, "sessionId", "attachmentId"]);
        rows.create_index_with_str_sequence_and_optional_parameters(BY_UNCOMMITTED, &key_path, &non_unique)?;
        if old_version > 0 {
            rewrite_each(&rows, crate::records::with_uncommitted_field)?;
        }
    }
    if old_version < 6 {
        tx.object_store(MANIFEST)?.delete_index(BY_INTENT_AT)?;
    }
    Ok(())
}

/// Marks every attachment no manifest row names as held by a plain put.
fn mark_plain_puts(tx: &IdbTransaction) -> Result<(), JsValue> {
    let rows = tx.object_store(MANIFEST)?.index(BY_ATTACHMENT)?;
    rewrite_each_by_count(
        &tx.object_store(META)?,
        rows,
        |row| js_sys::Reflect::get(row, &"id".into()).ok().filter(JsValue::is_string),
        |row, rows_naming_it| {
            (rows_naming_it == 0.0).then(|| {
                crate::records::mark_plain(row);
                row.clone()
            })
        },
    )
}
