//! The conformance suite every [`AttachmentStore`] / [`AttachmentManifest`] pair must pass.
//!
//! A backend implements [`ConformanceHarness`] (how to make a fresh pair, reopen it, close it) and
//! calls [`run_all`]. Each check gets a fresh, empty pair and panics with the check's name and what
//! differed, so it plugs into any test runner (`#[test]`, `wasm_bindgen_test`, ...).
//!
//! ```
//! use web_attachments::testing::conformance::{run_all, ConformanceHarness};
//! use web_attachments::{InMemoryAttachmentManifest, InMemoryAttachmentStore, Result};
//!
//! struct Memory;
//! #[async_trait::async_trait(?Send)]
//! impl ConformanceHarness for Memory {
//!     type Store = InMemoryAttachmentStore;
//!     type Manifest = InMemoryAttachmentManifest;
//!     async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)> {
//!         let store = InMemoryAttachmentStore::new();
//!         let manifest = store.manifest();
//!         Ok((store, manifest))
//!     }
//!     async fn reopen(&mut self, _: Self::Store, _: Self::Manifest) -> Result<Option<(Self::Store, Self::Manifest)>> {
//!         Ok(None) // ephemeral
//!     }
//!     fn close(&self, store: &Self::Store, manifest: &Self::Manifest) {
//!         store.close();
//!         manifest.close();
//!     }
//! }
//! futures::executor::block_on(run_all(&mut Memory));
//! ```

use async_trait::async_trait;

use crate::core::clock::now_epoch_ms;
use crate::core::error::{ErrorCode, Result};
use crate::core::id::{content_id, AttachmentId};
use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::AttachmentCreateMeta;
use crate::core::sweep_rules::AttachmentReclamationReport;
use crate::{
    reclaim_orphaned_attachments, resolve_llm_request_attachments, AttachmentManifest, AttachmentStore,
    AttachmentStorePersistence, LlmRequestAttachment, ReclaimOptions, SessionScopedAttachmentStore, SessionState,
};

/// How the suite gets at a backend.
#[async_trait(?Send)]
pub trait ConformanceHarness {
    /// The store under test.
    type Store: AttachmentStore;
    /// The manifest that goes with it.
    type Manifest: AttachmentManifest;

    /// A new, empty store and its manifest (a fresh database for durable backends).
    async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)>;

    /// Closes the pair and opens the same data again; `None` for ephemeral backends.
    async fn reopen(
        &mut self,
        store: Self::Store,
        manifest: Self::Manifest,
    ) -> Result<Option<(Self::Store, Self::Manifest)>>;

    /// Closes the pair, so that later calls must fail `Closed`.
    fn close(&self, store: &Self::Store, manifest: &Self::Manifest);
}

/// Runs every check, each on a fresh pair.
pub async fn run_all<H: ConformanceHarness>(harness: &mut H) {
    roundtrip_with_all_fields(harness).await;
    absent_fields_stay_absent(harness).await;
    content_addressing(harness).await;
    unknown_id_is_not_found(harness).await;
    delete_is_idempotent(harness).await;
    list_and_head(harness).await;
    persistence_and_reopen(harness).await;
    manifest_rules(harness).await;
    uncommitted_pages(harness).await;
    put_with_intent_writes_both(harness).await;
    sweep_scenarios(harness).await;
    session_scoped_store(harness).await;
    llm_request_resolution(harness).await;
    commit_after_a_sweep_rejects_and_writes_nothing(harness).await;
    commit_after_a_delete_rejects(harness).await;
    a_new_view_commits_what_the_session_put_before(harness).await;
    plain_puts_are_never_swept(harness).await;
    discard_forgets_and_deletes_what_nothing_else_holds(harness).await;
    release_then_sweep_reclaims_what_no_other_session_holds(harness).await;
    delete_removes_every_row(harness).await;
    closed_and_invalid_input(harness).await;
}

fn ok<T>(check: &str, step: &str, result: Result<T>) -> T {
    result.unwrap_or_else(|error| panic!("conformance `{check}`: {step} failed: {error}"))
}

fn expect_code<T: std::fmt::Debug>(check: &str, step: &str, result: Result<T>, code: ErrorCode) {
    match result {
        Err(error) if error.code() == code => {}
        other => panic!("conformance `{check}`: {step}: expected {code}, got {other:?}"),
    }
}

async fn fresh<H: ConformanceHarness>(harness: &mut H, check: &str) -> (H::Store, H::Manifest) {
    ok(check, "opening a fresh store", harness.fresh().await)
}

fn meta(media_type: &str) -> AttachmentCreateMeta {
    AttachmentCreateMeta::new(media_type).expect("valid media type")
}

fn bytes_of(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Put with every metadata field, then read it back through `get` and `head`.
pub async fn roundtrip_with_all_fields<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "roundtrip_with_all_fields";
    let (store, _) = fresh(harness, CHECK).await;
    let bytes = bytes_of(70_000, 7);
    let create = meta("Image/JPG").with_dimensions(640, 480).with_label("holiday.jpg");
    let reference = ok(CHECK, "put", store.put(&bytes, create).await);
    assert_eq!(reference.id, content_id(&bytes), "{CHECK}: id is the SHA-256 of the bytes");
    assert_eq!(reference.media_type.as_str(), "image/jpeg", "{CHECK}: media type normalised");
    assert_eq!(reference.byte_len, bytes.len() as u64, "{CHECK}: byte_len");
    assert_eq!((reference.width, reference.height), (Some(640), Some(480)), "{CHECK}: dimensions");
    assert_eq!(reference.label.as_deref(), Some("holiday.jpg"), "{CHECK}: label");
    let stored = ok(CHECK, "get", store.get(&reference.id).await);
    assert_eq!(stored.bytes, bytes, "{CHECK}: bytes read back");
    assert_eq!(stored.meta, reference, "{CHECK}: meta read back");
    assert_eq!(ok(CHECK, "head", store.head(&reference.id).await), Some(reference), "{CHECK}: head");
}

/// Optional fields never put are absent when read back; empty content is content too.
pub async fn absent_fields_stay_absent<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "absent_fields_stay_absent";
    let (store, _) = fresh(harness, CHECK).await;
    let reference = ok(CHECK, "put empty bytes", store.put(&[], meta("application/octet-stream")).await);
    assert_eq!(reference.id, content_id(&[]), "{CHECK}: id of empty bytes");
    let stored = ok(CHECK, "get", store.get(&reference.id).await);
    assert!(stored.bytes.is_empty(), "{CHECK}: empty bytes read back");
    assert_eq!((stored.meta.width, stored.meta.height, stored.meta.label), (None, None, None), "{CHECK}: absent fields");
}

/// Same bytes, same id, stored once; the last put's metadata wins; different bytes differ.
pub async fn content_addressing<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "content_addressing";
    let (store, _) = fresh(harness, CHECK).await;
    let first = ok(CHECK, "first put", store.put(b"same bytes", meta("text/plain").with_label("a")).await);
    let second = ok(CHECK, "repeat put", store.put(b"same bytes", meta("text/markdown").with_label("b")).await);
    assert_eq!(first.id, second.id, "{CHECK}: same bytes give the same id");
    let listed = ok(CHECK, "list", store.list().await);
    assert_eq!(listed.len(), 1, "{CHECK}: stored once");
    let stored = ok(CHECK, "get", store.get(&first.id).await);
    assert_eq!(stored.bytes, b"same bytes", "{CHECK}: bytes kept");
    assert_eq!(stored.meta.media_type.as_str(), "text/markdown", "{CHECK}: last metadata wins");
    assert_eq!(stored.meta.label.as_deref(), Some("b"), "{CHECK}: last label wins");
    let other = ok(CHECK, "put other bytes", store.put(b"other bytes", meta("text/plain")).await);
    assert_ne!(other.id, first.id, "{CHECK}: different bytes, different id");
    // Larger content too (backends may write small and large bytes differently).
    let large: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let first = ok(CHECK, "first put of 300 kB", store.put(&large, meta("application/octet-stream")).await);
    let again = ok(CHECK, "repeat put of 300 kB", store.put(&large, meta("application/pdf")).await);
    assert_eq!(first.id, again.id, "{CHECK}: same large bytes, same id");
    let stored = ok(CHECK, "get of 300 kB", store.get(&first.id).await);
    assert!(stored.bytes == large && stored.meta.media_type.as_str() == "application/pdf", "{CHECK}: large bytes kept, last metadata wins");
    assert_eq!(ok(CHECK, "list", store.list().await).len(), 3, "{CHECK}: stored once");
}

/// An id that names nothing is `NotFound` for `get` and `None` for `head`.
pub async fn unknown_id_is_not_found<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "unknown_id_is_not_found";
    let (store, _) = fresh(harness, CHECK).await;
    let unknown = content_id(b"never stored");
    expect_code(CHECK, "get of an unknown id", store.get(&unknown).await, ErrorCode::NotFound);
    assert_eq!(ok(CHECK, "head", store.head(&unknown).await), None, "{CHECK}: head of an unknown id");
}

/// Delete removes bytes and metadata; deleting again or deleting what never was is fine.
pub async fn delete_is_idempotent<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "delete_is_idempotent";
    let (store, _) = fresh(harness, CHECK).await;
    let kept = ok(CHECK, "put kept", store.put(b"kept", meta("text/plain")).await);
    let gone = ok(CHECK, "put gone", store.put(b"gone", meta("text/plain")).await);
    ok(CHECK, "delete", store.delete(&gone.id).await);
    expect_code(CHECK, "get after delete", store.get(&gone.id).await, ErrorCode::NotFound);
    assert_eq!(ok(CHECK, "head after delete", store.head(&gone.id).await), None, "{CHECK}: head after delete");
    ok(CHECK, "second delete", store.delete(&gone.id).await);
    ok(CHECK, "delete of an unknown id", store.delete(&content_id(b"never")).await);
    let listed: Vec<AttachmentId> = ok(CHECK, "list", store.list().await).into_iter().map(|r| r.id).collect();
    assert_eq!(listed, vec![kept.id], "{CHECK}: only the kept attachment is listed");
}

/// `list` returns every attachment's metadata ordered by id, equal to `head` of each.
pub async fn list_and_head<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "list_and_head";
    let (store, _) = fresh(harness, CHECK).await;
    assert!(ok(CHECK, "list of an empty store", store.list().await).is_empty(), "{CHECK}: empty at first");
    let mut expected = Vec::new();
    for seed in 0..5u8 {
        let create = meta("application/pdf").with_label(format!("doc-{seed}.pdf"));
        expected.push(ok(CHECK, "put", store.put(&bytes_of(100 + usize::from(seed), seed), create).await));
    }
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    let listed = ok(CHECK, "list", store.list().await);
    assert_eq!(listed, expected, "{CHECK}: list is every put, ordered by id");
    for reference in &expected {
        assert_eq!(ok(CHECK, "head", store.head(&reference.id).await).as_ref(), Some(reference), "{CHECK}: head equals list row");
    }
    // Pages: `limit` rows after `after`, in id order; the last id of one page starts the next.
    assert_eq!(ok(CHECK, "list_page", store.list_page(None, None).await), expected, "{CHECK}: a page without bounds is the list");
    let mut paged = Vec::new();
    let mut after: Option<AttachmentId> = None;
    loop {
        let page = ok(CHECK, "list_page", store.list_page(after.as_ref(), Some(2)).await);
        assert!(page.len() <= 2, "{CHECK}: a page holds at most its limit");
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        paged.extend(page);
    }
    assert_eq!(paged, expected, "{CHECK}: pages of 2 cover the list once, in order");
    assert!(ok(CHECK, "list_page", store.list_page(Some(&expected[4].id), None).await).is_empty(), "{CHECK}: nothing after the last id");
    let unknown = content_id(b"an id that is not stored");
    let after_unknown: Vec<_> = expected.iter().filter(|reference| reference.id > unknown).cloned().collect();
    assert_eq!(ok(CHECK, "list_page", store.list_page(Some(&unknown), None).await), after_unknown, "{CHECK}: `after` need not be stored");
}

/// Durable stores keep bytes and manifest rows across close and reopen; ephemeral ones say so.
pub async fn persistence_and_reopen<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "persistence_and_reopen";
    let (store, manifest) = fresh(harness, CHECK).await;
    let persistence = store.persistence();
    let reference = ok(CHECK, "put", store.put(b"survivor", meta("text/plain").with_label("s")).await);
    let intent = AttachmentIntent::new(reference.id.clone(), "s1", 1_000);
    ok(CHECK, "record_intent", manifest.record_intent(&intent).await);
    ok(CHECK, "commit_refs", manifest.commit_refs("s1", std::slice::from_ref(&reference.id)).await);
    let reopened = ok(CHECK, "reopen", harness.reopen(store, manifest).await);
    let Some((store, manifest)) = reopened else {
        assert_eq!(persistence, AttachmentStorePersistence::Ephemeral, "{CHECK}: a store that cannot reopen must be ephemeral");
        return;
    };
    assert_eq!(persistence, AttachmentStorePersistence::Durable, "{CHECK}: a store that reopens must be durable");
    let stored = ok(CHECK, "get after reopen", store.get(&reference.id).await);
    assert_eq!((stored.bytes.as_slice(), &stored.meta), (&b"survivor"[..], &reference), "{CHECK}: data after reopen");
    let rows = ok(CHECK, "entries_for after reopen", manifest.entries_for(&reference.id).await);
    let committed = rows.iter().find(|row| row.session_id == "s1").is_some_and(AttachmentManifestEntry::is_committed);
    assert!(committed, "{CHECK}: committed row after reopen: {rows:?}");
}

fn intent(data: &[u8], session: &str, at: i64) -> AttachmentIntent {
    AttachmentIntent::new(content_id(data), session, at)
}

/// The manifest's rules: upsert keeps commits, commits never insert, listing is inclusive and
/// oldest first, forget by session or by id.
pub async fn manifest_rules<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "manifest_rules";
    let (_, manifest) = fresh(harness, CHECK).await;
    let (a, b, c) = (content_id(b"a"), content_id(b"b"), content_id(b"c"));
    ok(CHECK, "intent a/s1", manifest.record_intent(&intent(b"a", "s1", 100)).await);
    ok(CHECK, "intent a/s2", manifest.record_intent(&intent(b"a", "s2", 300)).await);
    ok(CHECK, "intent b/s1", manifest.record_intent(&intent(b"b", "s1", 200)).await);
    ok(CHECK, "intent c/s1", manifest.record_intent(&intent(b"c", "s1", 200)).await);

    ok(CHECK, "empty commit", manifest.commit_refs("s1", &[]).await);
    ok(CHECK, "commit of rows that do not exist", manifest.commit_refs("nobody", std::slice::from_ref(&a)).await);
    assert!(ok(CHECK, "entries_for", manifest.entries_for(&a).await).iter().all(|row| row.session_id != "nobody"), "{CHECK}: commit never inserts");

    let listed = ok(CHECK, "list_uncommitted(200)", manifest.list_uncommitted(200).await);
    let keys: Vec<_> = listed.iter().map(|row| (row.intent_at_epoch_ms, row.session_id.as_str())).collect();
    assert_eq!(keys, [(100, "s1"), (200, "s1"), (200, "s1")], "{CHECK}: inclusive threshold, oldest first");
    assert!(listed[0].attachment_id == a && listed.iter().all(|row| row.canonical_uri == row.attachment_id.canonical_uri()), "{CHECK}: rows carry the canonical URI");

    ok(CHECK, "commit a for s1", manifest.commit_refs("s1", std::slice::from_ref(&a)).await);
    let rows_of_a = ok(CHECK, "entries_for(a)", manifest.entries_for(&a).await);
    let committed_at = |session: &str| rows_of_a.iter().find(|row| row.session_id == session).and_then(|row| row.committed_at_epoch_ms);
    assert!(committed_at("s1").is_some(), "{CHECK}: s1's row committed");
    assert_eq!(committed_at("s2"), None, "{CHECK}: commit touches only that session's rows");
    let stamp = committed_at("s1");

    ok(CHECK, "re-intent a/s1", manifest.record_intent(&intent(b"a", "s1", 5_000)).await);
    ok(CHECK, "re-commit a/s1", manifest.commit_refs("s1", std::slice::from_ref(&a)).await);
    let row = ok(CHECK, "entries_for(a)", manifest.entries_for(&a).await).into_iter().find(|row| row.session_id == "s1");
    assert_eq!(row.as_ref().map(|r| (r.intent_at_epoch_ms, r.committed_at_epoch_ms)), Some((5_000, stamp)), "{CHECK}: re-intent refreshes the time and keeps the commit");

    ok(CHECK, "forget b/s1", manifest.forget(&b, Some("s1")).await);
    ok(CHECK, "forget c/other session", manifest.forget(&c, Some("s2")).await);
    assert!(ok(CHECK, "entries_for(b)", manifest.entries_for(&b).await).is_empty(), "{CHECK}: forget by session");
    assert_eq!(ok(CHECK, "entries_for(c)", manifest.entries_for(&c).await).len(), 1, "{CHECK}: forget of another session's row leaves this one");
    ok(CHECK, "forget a (all sessions)", manifest.forget(&a, None).await);
    assert!(ok(CHECK, "entries_for(a)", manifest.entries_for(&a).await).is_empty(), "{CHECK}: forget without session drops every row");
    ok(CHECK, "forget of nothing", manifest.forget(&a, None).await);
}

/// `list_uncommitted_page` and `count_uncommitted` agree with `list_uncommitted` (oldest first,
/// inclusive threshold, no committed row) as rows are committed and released.
pub async fn uncommitted_pages<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "uncommitted_pages";
    let (_, manifest) = fresh(harness, CHECK).await;
    for (i, session) in ["s2", "s1", "s3", "s1", "s2", "s1", "s3"].into_iter().enumerate() {
        // Ties on the intent time (100, 100, 200, 200, ...) are ordered by session, then id.
        ok(CHECK, "intent", manifest.record_intent(&intent(&[i as u8], session, 100 + 100 * (i as i64 / 2))).await);
    }
    ok(CHECK, "commit s3", manifest.commit_refs("s3", &[content_id(&[2]), content_id(&[6])]).await);
    let pages_of = async |limit: usize, older_than: i64| {
        let (mut rows, mut after) = (Vec::new(), None::<AttachmentManifestEntry>);
        loop {
            let page = ok(CHECK, "list_uncommitted_page", manifest.list_uncommitted_page(older_than, after.as_ref(), limit).await);
            assert!(page.len() <= limit, "{CHECK}: a page of {} rows where the limit is {limit}", page.len());
            let Some(last) = page.last().cloned() else { break rows };
            rows.extend(page);
            after = Some(last);
        }
    };
    for older_than in [i64::MAX, 200, 99] {
        let whole = ok(CHECK, "list_uncommitted", manifest.list_uncommitted(older_than).await);
        assert_eq!(ok(CHECK, "count_uncommitted", manifest.count_uncommitted(older_than).await), whole.len() as u64, "{CHECK}: the count at {older_than}");
        for limit in [1, 2, 3, 100] {
            assert_eq!(pages_of(limit, older_than).await, whole, "{CHECK}: pages of {limit} at {older_than} make the listing");
        }
    }
    let whole = ok(CHECK, "list_uncommitted", manifest.list_uncommitted(i64::MAX).await);
    assert_eq!(whole.len(), 5, "{CHECK}: committed rows are not listed: {whole:?}");
    ok(CHECK, "release s3", manifest.release_session("s3").await);
    assert_eq!(pages_of(2, i64::MAX).await.len(), 7, "{CHECK}: released rows are listed again");
}

/// `put_with_intent` leaves both the intent row and the bytes.
pub async fn put_with_intent_writes_both<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "put_with_intent_writes_both";
    let (store, manifest) = fresh(harness, CHECK).await;
    let wanted = intent(b"payload", "s1", 42);
    let reference = ok(CHECK, "put_with_intent", store.put_with_intent(&manifest, &wanted, b"payload", meta("text/plain")).await);
    assert_eq!(reference.id, wanted.attachment_id, "{CHECK}: id");
    let rows = ok(CHECK, "entries_for", manifest.entries_for(&reference.id).await);
    assert_eq!(rows.len(), 1, "{CHECK}: one intent row");
    assert_eq!((rows[0].session_id.as_str(), rows[0].intent_at_epoch_ms, rows[0].committed_at_epoch_ms), ("s1", 42, None), "{CHECK}: the row");
    assert_eq!(ok(CHECK, "get", store.get(&reference.id).await).bytes, b"payload", "{CHECK}: bytes");
}

async fn sweep<H: ConformanceHarness>(check: &str, store: &H::Store, manifest: &H::Manifest, older_than: i64) -> AttachmentReclamationReport {
    ok(check, "reclaim sweep", reclaim_orphaned_attachments(manifest, store, older_than, ReclaimOptions::default()).await)
}

fn report(scanned: u64, reclaimed: u64, deleted: u64, deleted_bytes: u64) -> AttachmentReclamationReport {
    AttachmentReclamationReport { scanned_intent_count: scanned, reclaimed_count: reclaimed, deleted_count: deleted, deleted_bytes }
}

/// The sweep: aged orphans go, committed and young content stays, shared content is deleted only
/// when no row protects it, and the report counts rows and deleted attachments.
pub async fn sweep_scenarios<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "sweep_scenarios";
    let (store, manifest) = fresh(harness, CHECK).await;
    let put = |data: &'static [u8], session: &'static str, at: i64| {
        let (store, manifest) = (&store, &manifest);
        async move { ok(CHECK, "put_with_intent", store.put_with_intent(manifest, &intent(data, session, at), data, meta("text/plain")).await) }
    };
    let orphan = put(b"orphan!", "s1", 1_000).await;
    let committed = put(b"committed", "s1", 1_000).await;
    ok(CHECK, "commit", manifest.commit_refs("s1", std::slice::from_ref(&committed.id)).await);
    let young = put(b"young", "s1", 3_000).await;
    let shared_committed = put(b"shared-committed", "s1", 1_000).await;
    put(b"shared-committed", "s2", 1_000).await;
    ok(CHECK, "commit s2", manifest.commit_refs("s2", std::slice::from_ref(&shared_committed.id)).await);
    let shared_young = put(b"shared-young", "s1", 1_000).await;
    put(b"shared-young", "s2", 2_500).await;
    let shared_aged = put(b"shared-aged", "s1", 1_000).await;
    put(b"shared-aged", "s2", 1_500).await;
    let at_threshold = put(b"at-threshold", "s3", 2_000).await;
    // An intent whose bytes never landed (a crash between the two): its row goes, nothing to delete.
    ok(CHECK, "intent without bytes", manifest.record_intent(&intent(b"never written", "s4", 1_000)).await);

    let got = sweep::<H>(CHECK, &store, &manifest, 2_000).await;
    // Rows: orphan, shared-committed/s1, shared-young/s1, shared-aged/s1+s2, at-threshold, never-written.
    // Deleted: orphan (7 bytes), shared-aged (11), at-threshold (12).
    assert_eq!(got, report(7, 7, 3, 7 + 11 + 12), "{CHECK}: report");

    for gone in [&orphan, &shared_aged, &at_threshold] {
        expect_code(CHECK, "get of reclaimed content", store.get(&gone.id).await, ErrorCode::NotFound);
        assert!(ok(CHECK, "entries_for", manifest.entries_for(&gone.id).await).is_empty(), "{CHECK}: reclaimed rows forgotten");
    }
    for kept in [&committed, &young, &shared_committed, &shared_young] {
        assert!(store.get(&kept.id).await.is_ok(), "{CHECK}: {} must be kept", kept.id);
    }
    let rows = ok(CHECK, "entries_for(shared-committed)", manifest.entries_for(&shared_committed.id).await);
    assert!(rows.len() == 1 && rows[0].session_id == "s2", "{CHECK}: only the aged row of shared content is forgotten: {rows:?}");
    assert_eq!(sweep::<H>(CHECK, &store, &manifest, 2_000).await, report(0, 0, 0, 0), "{CHECK}: a second sweep finds nothing");
    let later = sweep::<H>(CHECK, &store, &manifest, 10_000).await;
    assert_eq!(later, report(2, 2, 2, 5 + 12), "{CHECK}: later, the young rows have aged (young, shared-young)");
    assert!(store.get(&committed.id).await.is_ok(), "{CHECK}: committed content survives every sweep");
}

/// The session-scoped wrapper over this backend: intent before bytes, pending ids, commit.
pub async fn session_scoped_store<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "session_scoped_store";
    let (store, manifest) = fresh(harness, CHECK).await;
    let session = ok(CHECK, "new session", SessionScopedAttachmentStore::new(store, manifest, "conversation"));
    let first = ok(CHECK, "put", session.put(b"first", meta("text/plain")).await);
    let second = ok(CHECK, "put", session.put(b"second", meta("text/plain")).await);
    ok(CHECK, "repeat put", session.put(b"first", meta("text/plain")).await);
    assert_eq!(session.pending_manifest_commit_ids(), vec![first.id.clone(), second.id.clone()], "{CHECK}: pending ids, once each, in put order");
    let rows = ok(CHECK, "entries_for", session.manifest().entries_for(&first.id).await);
    assert!(rows.len() == 1 && rows[0].session_id == "conversation" && !rows[0].is_committed(), "{CHECK}: intent recorded: {rows:?}");
    assert_eq!(ok(CHECK, "get through the session", session.get(&first.id).await).bytes, b"first", "{CHECK}: get forwards");
    assert_eq!(ok(CHECK, "list through the session", session.list().await).len(), 2, "{CHECK}: list forwards");

    let committed = ok(CHECK, "commit", session.commit().await);
    assert_eq!(committed, vec![first.id.clone(), second.id.clone()], "{CHECK}: commit returns the pending ids");
    assert!(session.pending_manifest_commit_ids().is_empty(), "{CHECK}: nothing pending after commit");
    for id in [&first.id, &second.id] {
        let rows = ok(CHECK, "entries_for", session.manifest().entries_for(id).await);
        assert!(rows.iter().all(AttachmentManifestEntry::is_committed), "{CHECK}: rows committed: {rows:?}");
    }
    assert!(ok(CHECK, "commit with nothing pending", session.commit().await).is_empty(), "{CHECK}: empty commit");

    let third = ok(CHECK, "put", session.put(b"third", meta("text/plain")).await);
    session.mark_manifest_committed(std::slice::from_ref(&third.id));
    assert!(session.pending_manifest_commit_ids().is_empty(), "{CHECK}: mark_manifest_committed clears pending");
    ok(CHECK, "delete through the session", session.delete(&third.id).await);
    assert_eq!(ok(CHECK, "head", session.head(&third.id).await), None, "{CHECK}: delete forwards");
}

/// `resolve_llm_request_attachments` loads referenced bytes and leaves the rest alone.
pub async fn llm_request_resolution<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "llm_request_resolution";
    let (store, _) = fresh(harness, CHECK).await;
    let image = ok(CHECK, "put", store.put(b"png bytes", meta("image/png")).await);
    let mut attachments = vec![
        LlmRequestAttachment { mime: "application/octet-stream".into(), data: None, reference: Some(image.clone()) },
        LlmRequestAttachment { mime: "x/y".into(), data: Some(Vec::new()), reference: Some(image.clone()) },
        LlmRequestAttachment { mime: "text/plain".into(), data: Some(b"inline".to_vec()), reference: Some(image.clone()) },
        LlmRequestAttachment { mime: "text/plain".into(), data: None, reference: None },
    ];
    ok(CHECK, "resolve", resolve_llm_request_attachments(&mut attachments, &store).await);
    for filled in &attachments[..2] {
        assert_eq!((filled.mime.as_str(), filled.data.as_deref()), ("image/png", Some(&b"png bytes"[..])), "{CHECK}: reference resolved");
    }
    assert_eq!(attachments[2].data.as_deref(), Some(&b"inline"[..]), "{CHECK}: inline data untouched");
    assert_eq!(attachments[3].data, None, "{CHECK}: no reference, untouched");

    let mut missing = image.clone();
    missing.id = content_id(b"missing");
    let mut failing = vec![
        LlmRequestAttachment { mime: "a/b".into(), data: None, reference: Some(image) },
        LlmRequestAttachment { mime: "a/b".into(), data: None, reference: Some(missing) },
    ];
    let before = failing.clone();
    expect_code(CHECK, "resolve with a missing reference", resolve_llm_request_attachments(&mut failing, &store).await, ErrorCode::NotFound);
    assert_eq!(failing, before, "{CHECK}: a failed resolution changes nothing");
}

/// A sweep threshold past every intent made so far: "a day later".
fn past_every_intent() -> i64 {
    now_epoch_ms() + 60_000
}

fn state(text: &str) -> SessionState {
    SessionState::Bytes(text.as_bytes().to_vec())
}

fn expect_missing<T: std::fmt::Debug>(check: &str, step: &str, result: Result<T>, ids: &[AttachmentId]) {
    match result {
        Err(error) if error.code() == ErrorCode::NotFound && error.ids() == ids => {}
        other => panic!("conformance `{check}`: {step}: expected NotFound naming {ids:?}, got {other:?}"),
    }
}

async fn session_row<M: AttachmentManifest>(check: &str, manifest: &M, session: &str, id: &AttachmentId) -> Option<AttachmentManifestEntry> {
    ok(check, "entries_for", manifest.entries_for(id).await).into_iter().find(|row| row.session_id == session)
}

/// Contract §8: a session left open while another tab sweeps past its intent cannot commit an
/// attachment the sweep reclaimed. The commit writes nothing (no stamp, no state), the id stays
/// pending, and a re-put of the same content makes it whole.
pub async fn commit_after_a_sweep_rejects_and_writes_nothing<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "commit_after_a_sweep_rejects_and_writes_nothing";
    let (store, manifest) = fresh(harness, CHECK).await;
    let session = ok(CHECK, "new session", SessionScopedAttachmentStore::new(&store, &manifest, "left-open"));
    let gone = ok(CHECK, "put", session.put(b"left open for a day", meta("text/plain")).await).id;
    sweep::<H>(CHECK, &store, &manifest, past_every_intent()).await;
    let later = ok(CHECK, "put after the sweep", session.put(b"put after the sweep", meta("text/plain")).await).id;
    expect_missing(CHECK, "commit with state after the sweep", session.commit_with_state(state("v1")).await, std::slice::from_ref(&gone));
    assert!(session_row(CHECK, &manifest, "left-open", &later).await.is_some_and(|row| !row.is_committed()), "{CHECK}: the other id was not stamped");
    assert_eq!(ok(CHECK, "session_state", manifest.session_state("left-open").await), None, "{CHECK}: no state was saved");
    assert_eq!(session.pending_manifest_commit_ids(), vec![gone.clone(), later.clone()], "{CHECK}: the ids stay pending");
    expect_missing(CHECK, "commit without state", session.commit().await, std::slice::from_ref(&gone));

    ok(CHECK, "re-put", session.put(b"left open for a day", meta("text/plain")).await);
    let committed = ok(CHECK, "commit after the re-put", session.commit_with_state(state("v1")).await);
    assert_eq!(committed, vec![gone.clone(), later.clone()], "{CHECK}: the commit covers both");
    assert_eq!(ok(CHECK, "session_state", manifest.session_state("left-open").await), Some(state("v1")), "{CHECK}: the state landed");
    sweep::<H>(CHECK, &store, &manifest, past_every_intent()).await;
    for id in [&gone, &later] {
        assert!(ok(CHECK, "head", store.head(id).await).is_some(), "{CHECK}: committed {id} survives a later sweep");
    }
    assert!(session.pending_manifest_commit_ids().is_empty(), "{CHECK}: nothing pending");
    // A later commit without state keeps the state; one with state replaces it.
    ok(CHECK, "empty commit", session.commit().await);
    assert_eq!(ok(CHECK, "session_state", manifest.session_state("left-open").await), Some(state("v1")), "{CHECK}: kept");
    ok(CHECK, "commit with a new state", session.commit_with_state(state("v2")).await);
    let reopened = ok(CHECK, "reopen", harness.reopen(store, manifest).await);
    if let Some((_, manifest)) = reopened {
        assert_eq!(ok(CHECK, "session_state after reopen", manifest.session_state("left-open").await), Some(state("v2")), "{CHECK}: the state survives a reopen");
    }
}

/// A commit after another tab deleted one of its attachments rejects naming it; a re-put heals it.
pub async fn commit_after_a_delete_rejects<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "commit_after_a_delete_rejects";
    let (store, manifest) = fresh(harness, CHECK).await;
    let session = ok(CHECK, "new session", SessionScopedAttachmentStore::new(&store, &manifest, "s"));
    let deleted = ok(CHECK, "put", session.put(b"deleted elsewhere", meta("text/plain")).await).id;
    let kept = ok(CHECK, "put", session.put(b"kept", meta("text/plain")).await).id;
    ok(CHECK, "delete on the store", store.delete(&deleted).await);
    expect_missing(CHECK, "commit after the delete", session.commit().await, std::slice::from_ref(&deleted));
    assert!(session_row(CHECK, &manifest, "s", &kept).await.is_some_and(|row| !row.is_committed()), "{CHECK}: nothing stamped");
    ok(CHECK, "re-put", session.put(b"deleted elsewhere", meta("text/plain")).await);
    assert_eq!(ok(CHECK, "commit after the re-put", session.commit().await), vec![deleted, kept], "{CHECK}: both committed");
}

/// A commit covers the session, not the view: a view made later (after a reload, in another tab)
/// commits what the session put before it, and `pending()` shows it.
pub async fn a_new_view_commits_what_the_session_put_before<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "a_new_view_commits_what_the_session_put_before";
    let (store, manifest) = fresh(harness, CHECK).await;
    let first = {
        let before = ok(CHECK, "first view", SessionScopedAttachmentStore::new(&store, &manifest, "c"));
        ok(CHECK, "put", before.put(b"put before the reload", meta("text/plain")).await).id
    };
    let other = ok(CHECK, "another session", SessionScopedAttachmentStore::new(&store, &manifest, "other"));
    ok(CHECK, "put by another session", other.put(b"another session's", meta("text/plain")).await);
    let after = ok(CHECK, "a new view", SessionScopedAttachmentStore::new(&store, &manifest, "c"));
    assert!(after.pending_manifest_commit_ids().is_empty(), "{CHECK}: the new view put nothing itself");
    assert_eq!(ok(CHECK, "pending", after.pending().await), vec![first.clone()], "{CHECK}: pending() reads the session's rows");
    assert_eq!(ok(CHECK, "commit", after.commit().await), vec![first.clone()], "{CHECK}: the new view commits the earlier put");
    assert!(session_row(CHECK, &manifest, "c", &first).await.is_some_and(|row| row.is_committed()), "{CHECK}: committed");
    assert!(ok(CHECK, "pending", after.pending().await).is_empty(), "{CHECK}: nothing pending");
    assert_eq!(ok(CHECK, "pending of the other session", other.pending().await).len(), 1, "{CHECK}: another session's rows are its own");
    drop((after, other));

    // Across a real reopen too, for durable stores.
    let second = {
        let view = ok(CHECK, "view", SessionScopedAttachmentStore::new(&store, &manifest, "c"));
        ok(CHECK, "put", view.put(b"put before the reopen", meta("text/plain")).await).id
    };
    if let Some((store, manifest)) = ok(CHECK, "reopen", harness.reopen(store, manifest).await) {
        let view = ok(CHECK, "view after the reopen", SessionScopedAttachmentStore::new(&store, &manifest, "c"));
        assert_eq!(ok(CHECK, "commit after the reopen", view.commit().await), vec![second], "{CHECK}: committed after the reopen");
    }
}

/// What `put` stores outside any session is never swept, also when a session intends the same
/// bytes (before or after) and never commits them; discarding them keeps them too.
pub async fn plain_puts_are_never_swept<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "plain_puts_are_never_swept";
    let (store, manifest) = fresh(harness, CHECK).await;
    let session = ok(CHECK, "new session", SessionScopedAttachmentStore::new(&store, &manifest, "s"));
    let before = ok(CHECK, "plain put", store.put(b"plain first", meta("text/plain")).await).id;
    if store.pending_manifest_commit_ids().contains(&before) {
        return; // The store under test is itself a session's view: its puts are the session's.
    }
    ok(CHECK, "session put of the same bytes", session.put(b"plain first", meta("text/plain")).await);
    ok(CHECK, "session put", session.put(b"session first", meta("text/plain")).await);
    let after = ok(CHECK, "plain put of the same bytes", store.put(b"session first", meta("text/markdown")).await).id;
    let orphan = ok(CHECK, "session put", session.put(b"only the session's", meta("text/plain")).await).id;
    let got = sweep::<H>(CHECK, &store, &manifest, past_every_intent()).await;
    assert_eq!(got, report(3, 3, 1, 18), "{CHECK}: only the session-only attachment is deleted");
    for id in [&before, &after] {
        assert!(ok(CHECK, "head", store.head(id).await).is_some(), "{CHECK}: a plain put's {id} was swept");
        assert!(ok(CHECK, "entries_for", manifest.entries_for(id).await).is_empty(), "{CHECK}: the session's aged row is forgotten");
    }
    expect_code(CHECK, "get of the session-only attachment", store.get(&orphan).await, ErrorCode::NotFound);
    ok(CHECK, "session put again", session.put(b"plain first", meta("text/plain")).await);
    ok(CHECK, "discard", session.discard(std::slice::from_ref(&before)).await);
    assert!(ok(CHECK, "head", store.head(&before).await).is_some(), "{CHECK}: a discard keeps a plain put's bytes");
}

/// `discard` drops ids from pending, forgets the session's uncommitted rows and deletes bytes no
/// other row holds; committed rows and others' rows keep theirs.
pub async fn discard_forgets_and_deletes_what_nothing_else_holds<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "discard_forgets_and_deletes_what_nothing_else_holds";
    let (store, manifest) = fresh(harness, CHECK).await;
    let session = ok(CHECK, "new session", SessionScopedAttachmentStore::new(&store, &manifest, "s"));
    let other = ok(CHECK, "other session", SessionScopedAttachmentStore::new(&store, &manifest, "other"));
    let alone = ok(CHECK, "put", session.put(b"only mine", meta("text/plain")).await).id;
    let shared = ok(CHECK, "put", session.put(b"shared", meta("text/plain")).await).id;
    ok(CHECK, "other's put", other.put(b"shared", meta("text/plain")).await);
    let kept = ok(CHECK, "put", session.put(b"kept", meta("text/plain")).await).id;
    ok(CHECK, "discard", session.discard(&[alone.clone(), shared.clone()]).await);
    assert_eq!(session.pending_manifest_commit_ids(), vec![kept.clone()], "{CHECK}: discarded ids leave pending");
    expect_code(CHECK, "get of the discarded attachment", store.get(&alone).await, ErrorCode::NotFound);
    assert!(ok(CHECK, "entries_for", manifest.entries_for(&alone).await).is_empty(), "{CHECK}: its row is forgotten");
    assert!(ok(CHECK, "head", store.head(&shared).await).is_some(), "{CHECK}: another session's row holds the shared bytes");
    let rows = ok(CHECK, "entries_for", manifest.entries_for(&shared).await);
    assert!(rows.len() == 1 && rows[0].session_id == "other", "{CHECK}: only the discarding session's row goes: {rows:?}");
    assert_eq!(ok(CHECK, "commit", session.commit().await), vec![kept.clone()], "{CHECK}: the commit covers what is left");
    ok(CHECK, "discard of a committed id", session.discard(std::slice::from_ref(&kept)).await);
    assert!(session_row(CHECK, &manifest, "s", &kept).await.is_some_and(|row| row.is_committed()), "{CHECK}: a committed row is kept");
    assert!(ok(CHECK, "head", store.head(&kept).await).is_some(), "{CHECK}: and its bytes");
    ok(CHECK, "discard of nothing", session.discard(&[content_id(b"never put")]).await);
}

/// `release_session`: the session's rows lose their commits and its state goes; a sweep after the
/// grace period reclaims what no other session holds, and keeps what another committed.
pub async fn release_then_sweep_reclaims_what_no_other_session_holds<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "release_then_sweep_reclaims_what_no_other_session_holds";
    let (store, manifest) = fresh(harness, CHECK).await;
    let released = ok(CHECK, "new session", SessionScopedAttachmentStore::new(&store, &manifest, "deleted-conversation"));
    let other = ok(CHECK, "other session", SessionScopedAttachmentStore::new(&store, &manifest, "other"));
    let own = ok(CHECK, "put", released.put(b"only the deleted conversation's", meta("text/plain")).await).id;
    let shared = ok(CHECK, "put", released.put(b"shared with another", meta("text/plain")).await).id;
    ok(CHECK, "commit with state", released.commit_with_state(state("conversation")).await);
    ok(CHECK, "other's put", other.put(b"shared with another", meta("text/plain")).await);
    ok(CHECK, "other's commit", other.commit().await);
    let before_release = now_epoch_ms();
    ok(CHECK, "release", manifest.release_session("deleted-conversation").await);
    assert_eq!(ok(CHECK, "session_state", manifest.session_state("deleted-conversation").await), None, "{CHECK}: the state is gone");
    let row = session_row(CHECK, &manifest, "deleted-conversation", &own).await.expect("the row stays until swept");
    assert!(!row.is_committed() && row.intent_at_epoch_ms >= before_release, "{CHECK}: uncommitted, intended now: {row:?}");
    assert_eq!(sweep::<H>(CHECK, &store, &manifest, before_release - 3_600_000).await.deleted_count, 0, "{CHECK}: nothing before the grace period");
    assert!(ok(CHECK, "head", store.head(&own).await).is_some(), "{CHECK}: kept during the grace period");
    let got = sweep::<H>(CHECK, &store, &manifest, past_every_intent()).await;
    assert_eq!((got.reclaimed_count, got.deleted_count), (2, 1), "{CHECK}: both rows reclaimed, one attachment deleted");
    expect_code(CHECK, "get of the released attachment", store.get(&own).await, ErrorCode::NotFound);
    assert!(ok(CHECK, "head", store.head(&shared).await).is_some(), "{CHECK}: what another session committed is kept");
    assert!(session_row(CHECK, &manifest, "other", &shared).await.is_some_and(|row| row.is_committed()), "{CHECK}: its commit intact");
    ok(CHECK, "release of an unknown session", manifest.release_session("nobody").await);
}

/// `delete` removes the bytes, the metadata and every manifest row of the id.
pub async fn delete_removes_every_row<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "delete_removes_every_row";
    let (store, manifest) = fresh(harness, CHECK).await;
    for session in ["a", "b"] {
        let view = ok(CHECK, "new session", SessionScopedAttachmentStore::new(&store, &manifest, session));
        ok(CHECK, "put", view.put(b"deleted", meta("text/plain")).await);
        if session == "a" {
            ok(CHECK, "commit", view.commit().await);
        }
    }
    let id = content_id(b"deleted");
    ok(CHECK, "delete", store.delete(&id).await);
    expect_code(CHECK, "get after delete", store.get(&id).await, ErrorCode::NotFound);
    assert!(ok(CHECK, "entries_for", manifest.entries_for(&id).await).is_empty(), "{CHECK}: every row goes");
}

/// Closed stores fail `Closed`; bad intents fail `InvalidInput` and leave the store usable.
pub async fn closed_and_invalid_input<H: ConformanceHarness>(harness: &mut H) {
    const CHECK: &str = "closed_and_invalid_input";
    let (store, manifest) = fresh(harness, CHECK).await;
    let mut bad = intent(b"x", "", 1);
    expect_code(CHECK, "intent with an empty session", manifest.record_intent(&bad).await, ErrorCode::InvalidInput);
    bad.session_id = "s".into();
    bad.canonical_uri = "https://example.com/x".into();
    expect_code(CHECK, "intent with a foreign canonical URI", manifest.record_intent(&bad).await, ErrorCode::InvalidInput);
    expect_code(CHECK, "put_with_intent with a bad intent", store.put_with_intent(&manifest, &bad, b"x", meta("text/plain")).await, ErrorCode::InvalidInput);
    assert_eq!(ok(CHECK, "head after the bad intent", store.head(&content_id(b"x")).await), None, "{CHECK}: no bytes without an intent");
    expect_code(CHECK, "commit with an empty session", manifest.commit_refs("", &[]).await, ErrorCode::InvalidInput);
    let reference = ok(CHECK, "put after bad input", store.put(b"still works", meta("text/plain")).await);

    harness.close(&store, &manifest);
    expect_code(CHECK, "put after close", store.put(b"late", meta("text/plain")).await, ErrorCode::Closed);
    expect_code(CHECK, "get after close", store.get(&reference.id).await, ErrorCode::Closed);
    expect_code(CHECK, "head after close", store.head(&reference.id).await, ErrorCode::Closed);
    expect_code(CHECK, "list after close", store.list().await, ErrorCode::Closed);
    expect_code(CHECK, "delete after close", store.delete(&reference.id).await, ErrorCode::Closed);
    expect_code(CHECK, "record_intent after close", manifest.record_intent(&intent(b"late", "s", 1)).await, ErrorCode::Closed);
    expect_code(CHECK, "list_uncommitted after close", manifest.list_uncommitted(i64::MAX).await, ErrorCode::Closed);
}

