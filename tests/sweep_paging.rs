//! The sweep reads its candidates a page at a time (issue 17): however many orphans there are, no
//! read of the manifest returns more than a page, every orphan is reclaimed, committed rows are
//! kept, and progress counts every candidate. And a manifest that ignores paging (a JavaScript one
//! written before it) is still swept completely, once.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::Cell;

use async_trait::async_trait;
use futures::executor::block_on;
use web_attachments::{
    reclaim_orphaned_attachments, AttachmentCreateMeta, AttachmentId, AttachmentIntent, AttachmentManifest, AttachmentManifestEntry,
    AttachmentStore, InMemoryAttachmentManifest, InMemoryAttachmentStore, ReclaimOptions, Result, SWEEP_PAGE_ROWS,
};

/// A manifest that records the most rows one read returned, over the store's own manifest.
/// `pages: false` answers a page request with every row, as a manifest without paging does.
struct Watched {
    inner: InMemoryAttachmentManifest,
    pages: bool,
    largest_read: Cell<usize>,
    reads: Cell<usize>,
    counts: Cell<usize>,
}

impl Watched {
    fn saw(&self, rows: Vec<AttachmentManifestEntry>) -> Vec<AttachmentManifestEntry> {
        self.largest_read.set(self.largest_read.get().max(rows.len()));
        self.reads.set(self.reads.get() + 1);
        rows
    }
}

#[async_trait(?Send)]
impl AttachmentManifest for Watched {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        self.inner.record_intent(intent).await
    }
    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        self.inner.commit_refs(session_id, ids).await
    }
    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        Ok(self.saw(self.inner.list_uncommitted(older_than_epoch_ms).await?))
    }
    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        if !self.pages {
            return self.list_uncommitted(older_than_epoch_ms).await;
        }
        Ok(self.saw(self.inner.list_uncommitted_page(older_than_epoch_ms, after, limit).await?))
    }
    async fn count_uncommitted(&self, older_than_epoch_ms: i64) -> Result<u64> {
        self.counts.set(self.counts.get() + 1);
        self.inner.count_uncommitted(older_than_epoch_ms).await
    }
    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        self.inner.forget(attachment_id, session_id).await
    }
    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        self.inner.entries_for(attachment_id).await
    }
    fn colocation(&self) -> Option<String> {
        self.inner.colocation()
    }
}

const ORPHANS: usize = 3 * SWEEP_PAGE_ROWS + 17;
const KEPT: usize = 40;

/// A store holding `ORPHANS` uncommitted session puts and `KEPT` committed ones.
fn filled(pages: bool) -> (InMemoryAttachmentStore, Watched, Vec<AttachmentId>) {
    let store = InMemoryAttachmentStore::new();
    let manifest = Watched { inner: store.manifest(), pages, largest_read: Cell::new(0), reads: Cell::new(0), counts: Cell::new(0) };
    let meta = AttachmentCreateMeta::new("application/octet-stream").unwrap();
    let mut kept = Vec::new();
    block_on(async {
        for i in 0..ORPHANS + KEPT {
            // A commit covers all of its session's rows: orphans are in sessions that never commit.
            let session = if i < ORPHANS { store.session(&format!("orphans-{}", i % 7)) } else { store.session("kept") }.unwrap();
            let bytes = (i as u32).to_le_bytes().repeat(3);
            let attachment = session.put(&bytes, meta.clone()).await.unwrap();
            if i >= ORPHANS {
                session.commit().await.unwrap();
                kept.push(attachment.id);
            }
        }
    });
    (store, manifest, kept)
}

fn sweep(store: &InMemoryAttachmentStore, manifest: &Watched) -> (web_attachments::AttachmentReclamationReport, Vec<(u64, u64)>) {
    let mut calls = Vec::new();
    let mut on_progress = |done, total| calls.push((done, total));
    let report = block_on(reclaim_orphaned_attachments(manifest, store, i64::MAX, ReclaimOptions { on_progress: Some(&mut on_progress), ..Default::default() })).unwrap();
    (report, calls)
}

#[test]
fn the_sweep_reads_candidates_a_page_at_a_time() {
    let (store, manifest, kept) = filled(true);
    let (report, progress) = sweep(&store, &manifest);
    assert!(manifest.largest_read.get() <= SWEEP_PAGE_ROWS, "one read returned {} rows", manifest.largest_read.get());
    assert!(manifest.reads.get() >= ORPHANS.div_ceil(SWEEP_PAGE_ROWS), "{} reads", manifest.reads.get());
    assert_eq!(report.scanned_intent_count, ORPHANS as u64);
    assert_eq!(report.deleted_count, ORPHANS as u64);
    assert_eq!(progress.first(), Some(&(0, ORPHANS as u64)));
    assert_eq!(progress.last(), Some(&(ORPHANS as u64, ORPHANS as u64)));
    block_on(async {
        assert!(store.manifest().list_uncommitted(i64::MAX).await.unwrap().is_empty());
        assert_eq!(store.list().await.unwrap().len(), KEPT);
        for id in &kept {
            assert!(store.head(id).await.unwrap().is_some(), "committed {id} kept");
        }
    });
}

#[test]
fn a_manifest_that_ignores_paging_is_swept_once_and_completely() {
    let (store, manifest, _) = filled(false);
    let (report, _) = sweep(&store, &manifest);
    assert_eq!(report.scanned_intent_count, ORPHANS as u64);
    assert_eq!(report.deleted_count, ORPHANS as u64);
    assert_eq!(manifest.reads.get(), 2, "the whole list, then one more read that finds nothing after it");
    assert_eq!(block_on(store.list()).unwrap().len(), KEPT);
}

#[test]
fn only_a_sweep_that_reports_progress_counts_its_candidates() {
    let (store, manifest, _) = filled(true);
    let report = block_on(reclaim_orphaned_attachments(&manifest, &store, i64::MAX, ReclaimOptions::default())).unwrap();
    assert_eq!(report.deleted_count, ORPHANS as u64);
    assert_eq!(manifest.counts.get(), 0, "a sweep without on_progress read its candidates once more to count them");
    let (store, manifest, _) = filled(true);
    sweep(&store, &manifest);
    assert_eq!(manifest.counts.get(), 1);
}
