//! The host-called reclaim sweep.

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::manifest_rules::sort_rows;
use crate::core::sweep_rules::AttachmentReclamationReport;
use crate::manifest::AttachmentManifest;
use crate::store::AttachmentStore;

/// Optional controls for [`reclaim_orphaned_attachments`].
#[derive(Default)]
pub struct ReclaimOptions<'a> {
    /// Called with `(0, total)` first, then after each step or batch of steps with `(done, total)`.
    pub on_progress: Option<&'a mut dyn FnMut(u64, u64)>,
    /// Checked before the sweep reads anything and before each step or batch; when it returns true
    /// the sweep stops and fails with [`ReclaimOptions::ABORTED`]. Rows already handled stay
    /// handled.
    pub is_aborted: Option<&'a dyn Fn() -> bool>,
}

impl ReclaimOptions<'_> {
    /// The message of the `Backend` error an aborted sweep fails with.
    pub const ABORTED: &'static str = "the reclaim sweep was aborted";
}

/// Reclaims what sessions intended but never committed before `older_than_epoch_ms`.
///
/// For each row `list_uncommitted(older_than_epoch_ms)` returns: forget the row, and delete the
/// bytes unless another row of the same attachment is committed or newer than the threshold. Each
/// row is re-checked at the moment it is handled ([`AttachmentStore::reclaim_step`]); where manifest
/// and bytes share a database the re-check and the deletes are one transaction, so a commit from
/// another tab or worker can never be lost.
///
/// Nothing runs in the background: the host decides when to call this.
pub async fn reclaim_orphaned_attachments(
    manifest: &dyn AttachmentManifest,
    store: &dyn AttachmentStore,
    older_than_epoch_ms: i64,
    mut options: ReclaimOptions<'_>,
) -> Result<AttachmentReclamationReport> {
    let is_aborted = options.is_aborted;
    let aborted = || is_aborted.is_some_and(|aborted| aborted());
    if aborted() {
        return Err(AttachmentStoreError::backend(ReclaimOptions::ABORTED));
    }
    let mut candidates = manifest.list_uncommitted(older_than_epoch_ms).await?;
    // In id order, so a batch covers one stretch of ids: a backend may read (and delete) it as a
    // key range. Each step re-checks its rows anyway, so the order changes no outcome.
    sort_rows(&mut candidates, &|a, b| (&a.attachment_id, &a.session_id).cmp(&(&b.attachment_id, &b.session_id)));
    let total = candidates.len() as u64;
    let mut report = AttachmentReclamationReport { scanned_intent_count: total, ..Default::default() };
    let mut progress = |done: u64| {
        if let Some(callback) = options.on_progress.as_mut() {
            callback(done, total);
        }
    };
    progress(0);
    let mut done = 0;
    for batch in candidates.chunks(store.reclaim_batch_size().max(1)) {
        if aborted() {
            return Err(AttachmentStoreError::backend(ReclaimOptions::ABORTED));
        }
        for outcome in store.reclaim_batch(manifest, batch, older_than_epoch_ms).await? {
            report.record(outcome);
        }
        done += batch.len() as u64;
        progress(done);
    }
    if !aborted() {
        store.reclaim_abandoned_uploads(older_than_epoch_ms).await?;
    }
    Ok(report)
}
