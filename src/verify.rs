//! `verify`: re-hashes every attachment in bounded memory and removes the damaged ones. Their
//! manifest rows stay, so their commits stay, and a put of the same content heals them. Nothing
//! runs in the background: the host decides when (after an engine reported data loss, say).

use serde::{Deserialize, Serialize};

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::AttachmentId;
use crate::store::AttachmentStore;

/// What [`verify_attachments`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// Attachments checked.
    pub checked_count: u64,
    /// Their bytes, read and hashed.
    pub checked_bytes: u64,
    /// Attachments whose bytes did not hash to their id or could not be read: removed.
    pub corrupt: Vec<AttachmentId>,
}

/// Optional controls for [`verify_attachments`], as for the sweep.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// Called with `(0, total)` first, then after each attachment with `(done, total)`.
    pub on_progress: Option<&'a mut dyn FnMut(u64, u64)>,
    /// Checked before anything is read and before each attachment; when it returns true the
    /// verification stops and fails with [`VerifyOptions::ABORTED`].
    pub is_aborted: Option<&'a dyn Fn() -> bool>,
}

impl VerifyOptions<'_> {
    /// The message of the `Backend` error an aborted verification fails with.
    pub const ABORTED: &'static str = "the verification was aborted";
}

/// Checks every attachment of `store` ([`AttachmentStore::is_intact`]), removes the damaged ones
/// ([`AttachmentStore::drop_damaged`]) and reports them.
pub async fn verify_attachments(store: &dyn AttachmentStore, mut options: VerifyOptions<'_>) -> Result<VerifyReport> {
    let is_aborted = options.is_aborted;
    let aborted = || is_aborted.is_some_and(|aborted| aborted());
    if aborted() {
        return Err(AttachmentStoreError::backend(VerifyOptions::ABORTED));
    }
    let stored = store.list().await?;
    let total = stored.len() as u64;
    let mut progress = |done: u64| {
        if let Some(callback) = options.on_progress.as_mut() {
            callback(done, total);
        }
    };
    progress(0);
    let mut report = VerifyReport::default();
    for (done, meta) in stored.iter().enumerate() {
        if aborted() {
            return Err(AttachmentStoreError::backend(VerifyOptions::ABORTED));
        }
        if store.is_intact(&meta.id).await? {
            report.checked_bytes += meta.byte_len;
        } else {
            store.drop_damaged(&meta.id).await?;
            report.corrupt.push(meta.id.clone());
        }
        report.checked_count += 1;
        progress(done as u64 + 1);
    }
    Ok(report)
}
