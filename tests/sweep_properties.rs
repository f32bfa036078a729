//! Property tests of the rules in combination: random sequences of puts (intent + bytes), commits,
//! re-intents by other sessions and sweeps, where other operations also run *between* a sweep's
//! listing and its steps (as other tabs and workers do). After every operation no committed
//! attachment has lost its bytes; after every complete sweep no aged orphan is left.
#![cfg(not(target_arch = "wasm32"))]

use futures::executor::block_on;
use proptest::prelude::*;
use web_attachments::{
    content_id, reclaim_orphaned_attachments, AttachmentCreateMeta, AttachmentIntent, AttachmentManifest, AttachmentStore,
    InMemoryAttachmentManifest, InMemoryAttachmentStore, ReclaimOptions,
};

const SESSIONS: u8 = 3;
const CONTENTS: u8 = 4;

fn content(index: u8) -> Vec<u8> {
    vec![index; usize::from(index) + 1]
}

fn session(index: u8) -> String {
    format!("session-{index}")
}

#[derive(Clone, Debug)]
enum Op {
    /// A session puts a content: intent at `at`, then the bytes.
    Put { session: u8, content: u8, at: i64 },
    /// A session commits some of its contents.
    Commit { session: u8, contents: Vec<u8> },
    /// A sweep at `threshold`; `racing[i]` runs just before step `i`.
    Sweep { threshold: i64, racing: Vec<Vec<Op>> },
}

fn simple_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..SESSIONS, 0..CONTENTS, 0i64..100).prop_map(|(session, content, at)| Op::Put { session, content, at }),
        2 => (0..SESSIONS, proptest::collection::vec(0..CONTENTS, 0..3)).prop_map(|(session, contents)| Op::Commit { session, contents }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => simple_op(),
        1 => (0i64..120, proptest::collection::vec(proptest::collection::vec(simple_op(), 0..3), 0..6))
            .prop_map(|(threshold, racing)| Op::Sweep { threshold, racing }),
    ]
}

struct World {
    store: InMemoryAttachmentStore,
    manifest: InMemoryAttachmentManifest,
}

impl World {
    async fn apply(&self, op: &Op) {
        match op {
            Op::Put { session: s, content: c, at } => {
                let bytes = content(*c);
                let intent = AttachmentIntent::new(content_id(&bytes), session(*s), *at);
                let meta = AttachmentCreateMeta::new("application/octet-stream").unwrap();
                self.store.put_with_intent(&self.manifest, &intent, &bytes, meta).await.unwrap();
            }
            Op::Commit { session: s, contents } => {
                let ids: Vec<_> = contents.iter().map(|c| content_id(&content(*c))).collect();
                self.manifest.commit_refs(&session(*s), &ids).await.unwrap();
            }
            Op::Sweep { threshold, racing } => {
                // The sweep's own loop, with other operations interleaved between its steps.
                let listed = self.manifest.list_uncommitted(*threshold).await.unwrap();
                for (index, row) in listed.iter().enumerate() {
                    for other in racing.get(index).into_iter().flatten() {
                        Box::pin(self.apply(other)).await;
                        self.assert_committed_kept().await;
                    }
                    self.store.reclaim_step(&self.manifest, row, *threshold).await.unwrap();
                    self.assert_committed_kept().await;
                }
            }
        }
    }

    /// Safety: every committed row's bytes are still there.
    async fn assert_committed_kept(&self) {
        for row in self.manifest.list_uncommitted(i64::MAX).await.unwrap().iter().chain(&self.all_committed().await) {
            if row.is_committed() {
                assert!(self.store.head(&row.attachment_id).await.unwrap().is_some(), "committed {row:?} lost its bytes");
            }
        }
    }

    async fn all_committed(&self) -> Vec<web_attachments::AttachmentManifestEntry> {
        let mut rows = Vec::new();
        for c in 0..CONTENTS {
            rows.extend(self.manifest.entries_for(&content_id(&content(c))).await.unwrap().into_iter().filter(|r| r.is_committed()));
        }
        rows
    }

    /// Liveness after a complete sweep at `threshold`: no aged orphan row is left, and every stored
    /// attachment is protected by a committed or young row.
    async fn assert_swept(&self, threshold: i64) {
        assert!(self.manifest.list_uncommitted(threshold).await.unwrap().is_empty(), "aged orphan rows left");
        for stored in self.store.list().await.unwrap() {
            let rows = self.manifest.entries_for(&stored.id).await.unwrap();
            assert!(
                rows.iter().any(|r| r.is_committed() || r.intent_at_epoch_ms > threshold),
                "aged orphan {} kept: {rows:?}",
                stored.id
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_committed_attachment_is_ever_deleted_and_every_aged_orphan_is(ops in proptest::collection::vec(op(), 1..40), final_threshold in 0i64..120) {
        block_on(async {
            let store = InMemoryAttachmentStore::new();
            let world = World { manifest: store.manifest(), store };
            for op in &ops {
                world.apply(op).await;
                world.assert_committed_kept().await;
            }
            let committed_before = world.all_committed().await;
            let report = reclaim_orphaned_attachments(&world.manifest, &world.store, final_threshold, ReclaimOptions::default()).await.unwrap();
            world.assert_committed_kept().await;
            world.assert_swept(final_threshold).await;
            assert_eq!(world.all_committed().await, committed_before, "a sweep never touches committed rows");
            assert!(report.deleted_count <= report.reclaimed_count && report.reclaimed_count <= report.scanned_intent_count + u64::from(SESSIONS) * u64::from(CONTENTS));
        });
    }
}

#[test]
fn progress_is_reported_and_abort_stops_between_rows() {
    block_on(async {
        let store = InMemoryAttachmentStore::new();
        let manifest = store.manifest();
        for c in 0..CONTENTS {
            let bytes = content(c);
            let intent = AttachmentIntent::new(content_id(&bytes), "s", i64::from(c));
            store.put_with_intent(&manifest, &intent, &bytes, AttachmentCreateMeta::new("a/b").unwrap()).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut on_progress = |done, total| seen.push((done, total));
        let steps = std::cell::Cell::new(0);
        let is_aborted = || {
            steps.set(steps.get() + 1);
            steps.get() > 2
        };
        let options = ReclaimOptions { on_progress: Some(&mut on_progress), is_aborted: Some(&is_aborted) };
        let error = reclaim_orphaned_attachments(&manifest, &store, 100, options).await.unwrap_err();
        assert_eq!(error.message(), ReclaimOptions::ABORTED);
        assert_eq!(seen, [(0, 4), (1, 4), (2, 4)]);
        assert_eq!(store.list().await.unwrap().len(), 2, "the two handled rows were reclaimed, the rest kept");
    });
}
