//! The host-called reclaim sweep.

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::manifest_rules::{comes_after, sort_rows, uncommitted_order, AttachmentManifestEntry};
use crate::core::sweep_rules::AttachmentReclamationReport;
use crate::manifest::AttachmentManifest;
use crate::store::AttachmentStore;

/// Candidates the sweep reads at a time (or the store's batch, when larger): about 100 KiB of rows.
pub const SWEEP_PAGE_ROWS: usize = 500;

/// Optional controls for [`reclaim_orphaned_attachments`].
#[derive(Default)]
pub struct ReclaimOptions<'a> {
    /// Called with `(0, total)` first, then after each step or batch of steps with `(done, total)`.
    /// Only a sweep with a callback counts its candidates first (on a Durable Object a count
    /// reads every candidate).
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
/// For each row `list_uncommitted(older_than_epoch_ms)` returns (read a page of [`SWEEP_PAGE_ROWS`]
/// at a time, so memory stays bounded whatever their number): forget the row, and delete the
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
    let total = match options.on_progress {
        Some(_) => manifest.count_uncommitted(older_than_epoch_ms).await?,
        None => 0,
    };
    let mut report = AttachmentReclamationReport::default();
    let mut done = 0;
    let mut progress = |done: u64| {
        if let Some(callback) = options.on_progress.as_mut() {
            // Rows intended meanwhile may be more than were counted.
            callback(done, total.max(done));
        }
    };
    progress(0);
    let batch_size = store.reclaim_batch_size().max(1);
    // A page of candidates at a time, each after the last one seen: memory is bounded by the page,
    // whatever the number of candidates.
    let page_size = batch_size.max(SWEEP_PAGE_ROWS);
    let mut after: Option<AttachmentManifestEntry> = None;
    loop {
        let mut page = manifest.list_uncommitted_page(older_than_epoch_ms, after.as_ref(), page_size).await?;
        // Held to the cursor here too, so a manifest that ignores it cannot make the sweep loop.
        page.retain(|row| comes_after(row, after.as_ref()));
        let Some(last) = page.iter().max_by(|a, b| uncommitted_order(a, b)).cloned() else { break };
        let full = page.len() >= page_size;
        after = Some(last);
        // In id order, so a batch covers one stretch of ids: a backend may read (and delete) it as
        // a key range. Each step re-checks its rows anyway, so the order changes no outcome.
        sort_rows(&mut page, &|a, b| (&a.attachment_id, &a.session_id).cmp(&(&b.attachment_id, &b.session_id)));
        for batch in page.chunks(batch_size) {
            if aborted() {
                return Err(AttachmentStoreError::backend(ReclaimOptions::ABORTED));
            }
            for outcome in store.reclaim_batch(manifest, batch, older_than_epoch_ms).await? {
                report.record(outcome);
            }
            done += batch.len() as u64;
            report.scanned_intent_count = done;
            progress(done);
        }
        if !full {
            break;
        }
    }
    if !aborted() {
        store.reclaim_abandoned_uploads(older_than_epoch_ms).await?;
    }
    Ok(report)
}
