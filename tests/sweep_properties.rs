//! Property tests of the rules in combination: random sequences of session puts (intent + bytes),
//! plain puts, commits (with and without state), discards, releases, deletes and sweeps, where
//! other operations also run *between* a sweep's listing and its steps (as other tabs and workers
//! do). Asserted after every operation:
//! - a commit resolves only if every id it names is present afterwards, and each stays present
//!   through any later operation until its session is released or the id deleted;
//! - a rejected commit writes nothing (no stamp, no state);
//! - what a plain put stored stays until it is deleted;
//! - after a complete sweep no aged orphan is left.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};

use futures::executor::block_on;
use proptest::prelude::*;
use web_attachments::{
    content_id, reclaim_orphaned_attachments, AttachmentCreateMeta, AttachmentId, AttachmentIntent, AttachmentManifest,
    AttachmentStore, ErrorCode, InMemoryAttachmentManifest, InMemoryAttachmentStore, ReclaimOptions, SessionState,
};

const SESSIONS: u8 = 3;
const CONTENTS: u8 = 4;
/// Views per session: a session is put through from several tabs, each with its own pending list.
const VIEWS: u8 = 2;

fn content(index: u8) -> Vec<u8> {
    vec![index; usize::from(index) + 1]
}

fn id_of(index: u8) -> AttachmentId {
    content_id(&content(index))
}

fn session(index: u8) -> String {
    format!("session-{index}")
}

fn meta() -> AttachmentCreateMeta {
    AttachmentCreateMeta::new("application/octet-stream").unwrap()
}

#[derive(Clone, Debug)]
enum Op {
    /// A session puts a content through one of its views: intent at `at`, then the bytes.
    Put { session: u8, view: u8, content: u8, at: i64 },
    /// `store.put`, outside any session.
    PlainPut { content: u8 },
    /// A view commits its session, saving a state when `state` is set.
    Commit { session: u8, view: u8, state: Option<u8> },
    /// A view discards some contents.
    Discard { session: u8, view: u8, contents: Vec<u8> },
    /// The session's conversation is deleted.
    Release { session: u8 },
    /// `store.delete`.
    Delete { content: u8 },
    /// A sweep at `threshold`; `racing[i]` runs just before step `i`.
    Sweep { threshold: i64, racing: Vec<Vec<Op>> },
}

fn simple_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..SESSIONS, 0..VIEWS, 0..CONTENTS, 0i64..100).prop_map(|(session, view, content, at)| Op::Put { session, view, content, at }),
        1 => (0..CONTENTS).prop_map(|content| Op::PlainPut { content }),
        3 => (0..SESSIONS, 0..VIEWS, proptest::option::of(0u8..8)).prop_map(|(session, view, state)| Op::Commit { session, view, state }),
        1 => (0..SESSIONS, 0..VIEWS, proptest::collection::vec(0..CONTENTS, 0..3)).prop_map(|(session, view, contents)| Op::Discard { session, view, contents }),
        1 => (0..SESSIONS).prop_map(|session| Op::Release { session }),
        1 => (0..CONTENTS).prop_map(|content| Op::Delete { content }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => simple_op(),
        1 => (0i64..120, proptest::collection::vec(proptest::collection::vec(simple_op(), 0..3), 0..6))
            .prop_map(|(threshold, racing)| Op::Sweep { threshold, racing }),
    ]
}

/// Every row, attachment and state there is, comparable.
#[derive(Debug, PartialEq)]
struct Snapshot {
    rows: BTreeSet<(String, AttachmentId, i64, Option<i64>)>,
    stored: BTreeSet<AttachmentId>,
    states: BTreeMap<String, SessionState>,
}

#[derive(Default)]
struct Model {
    /// `(session, id)` a resolved commit promised, until the session is released or the id deleted.
    promised: BTreeSet<(u8, u8)>,
    /// Contents a plain put stored, until deleted.
    plain: BTreeSet<u8>,
    /// Each view's pending ids, as a session-scoped store keeps them.
    pending: BTreeMap<(u8, u8), Vec<AttachmentId>>,
    /// The state each session last committed.
    states: BTreeMap<u8, SessionState>,
}

struct World {
    store: InMemoryAttachmentStore,
    manifest: InMemoryAttachmentManifest,
    model: std::cell::RefCell<Model>,
}

impl World {
    async fn apply(&self, op: &Op) {
        match op {
            Op::Put { session: s, view, content: c, at } => {
                let bytes = content(*c);
                let intent = AttachmentIntent::new(content_id(&bytes), session(*s), *at);
                self.store.put_with_intent(&self.manifest, &intent, &bytes, meta()).await.unwrap();
                let mut model = self.model.borrow_mut();
                let pending = model.pending.entry((*s, *view)).or_default();
                if !pending.contains(&id_of(*c)) {
                    pending.push(id_of(*c));
                }
            }
            Op::PlainPut { content: c } => {
                self.store.put(&content(*c), meta()).await.unwrap();
                self.model.borrow_mut().plain.insert(*c);
            }
            Op::Commit { session: s, view, state } => {
                let pending = self.model.borrow().pending.get(&(*s, *view)).cloned().unwrap_or_default();
                let state = state.map(|value| SessionState::Bytes(vec![value]));
                let before = self.snapshot().await;
                match self.store.commit_session(&self.manifest, &session(*s), &pending, state.as_ref()).await {
                    Ok(ids) => {
                        assert!(pending.iter().all(|id| ids.contains(id)), "a commit covers the view's pending ids: {pending:?} {ids:?}");
                        for id in &ids {
                            assert!(self.store.head(id).await.unwrap().is_some(), "commit resolved with {id} but it is gone");
                        }
                        {
                            let mut model = self.model.borrow_mut();
                            for id in &ids {
                                let index = (0..CONTENTS).find(|c| &id_of(*c) == id).expect("a known content");
                                model.promised.insert((*s, index));
                            }
                            if let Some(pending) = model.pending.get_mut(&(*s, *view)) {
                                pending.retain(|id| !ids.contains(id));
                            }
                            if let Some(state) = state {
                                model.states.insert(*s, state);
                            }
                        }
                        let rows = self.manifest.uncommitted_rows_of(&session(*s)).await.unwrap();
                        assert!(rows.is_empty(), "a commit leaves the session nothing uncommitted: {rows:?}");
                    }
                    Err(error) => {
                        assert_eq!(error.code(), ErrorCode::NotFound, "{error}");
                        assert!(!error.ids().is_empty(), "a rejected commit names the missing ids");
                        assert_eq!(self.snapshot().await, before, "a rejected commit writes nothing");
                    }
                }
            }
            Op::Discard { session: s, view, contents } => {
                let ids: Vec<AttachmentId> = contents.iter().map(|c| id_of(*c)).collect();
                self.store.discard(&self.manifest, &session(*s), &ids).await.unwrap();
                if let Some(pending) = self.model.borrow_mut().pending.get_mut(&(*s, *view)) {
                    pending.retain(|id| !ids.contains(id));
                }
            }
            Op::Release { session: s } => {
                self.manifest.release_session(&session(*s)).await.unwrap();
                let mut model = self.model.borrow_mut();
                model.promised.retain(|(promised, _)| promised != s);
                model.states.remove(s);
            }
            Op::Delete { content: c } => {
                self.store.delete(&id_of(*c)).await.unwrap();
                let mut model = self.model.borrow_mut();
                model.promised.retain(|(_, promised)| promised != c);
                model.plain.remove(c);
            }
            Op::Sweep { threshold, racing } => {
                // The sweep's own loop, with other operations interleaved between its steps.
                let listed = self.manifest.list_uncommitted(*threshold).await.unwrap();
                for (index, row) in listed.iter().enumerate() {
                    for other in racing.get(index).into_iter().flatten() {
                        Box::pin(self.apply(other)).await;
                        self.assert_kept().await;
                    }
                    self.store.reclaim_step(&self.manifest, row, *threshold).await.unwrap();
                    self.assert_kept().await;
                }
            }
        }
    }

    /// Safety: every promised attachment and every plain put is present, and each session's state
    /// is the one it last committed.
    async fn assert_kept(&self) {
        let (promised, plain, states) = {
            let model = self.model.borrow();
            (model.promised.clone(), model.plain.clone(), model.states.clone())
        };
        for (s, c) in &promised {
            assert!(self.store.head(&id_of(*c)).await.unwrap().is_some(), "{} committed content {c} and it is gone", session(*s));
        }
        for c in &plain {
            assert!(self.store.head(&id_of(*c)).await.unwrap().is_some(), "plainly put content {c} is gone");
        }
        for s in 0..SESSIONS {
            assert_eq!(self.manifest.session_state(&session(s)).await.unwrap().as_ref(), states.get(&s), "state of {}", session(s));
        }
    }

    async fn snapshot(&self) -> Snapshot {
        let mut rows = BTreeSet::new();
        for c in 0..CONTENTS {
            for row in self.manifest.entries_for(&id_of(c)).await.unwrap() {
                rows.insert((row.session_id, row.attachment_id, row.intent_at_epoch_ms, row.committed_at_epoch_ms));
            }
        }
        let stored = self.store.list().await.unwrap().into_iter().map(|meta| meta.id).collect();
        let mut states = BTreeMap::new();
        for s in 0..SESSIONS {
            if let Some(state) = self.manifest.session_state(&session(s)).await.unwrap() {
                states.insert(session(s), state);
            }
        }
        Snapshot { rows, stored, states }
    }

    /// Liveness after a complete sweep at `threshold`: no aged orphan row is left, and every stored
    /// attachment is held by a committed or young row or by a plain put.
    async fn assert_swept(&self, threshold: i64) {
        assert!(self.manifest.list_uncommitted(threshold).await.unwrap().is_empty(), "aged orphan rows left");
        for stored in self.store.list().await.unwrap() {
            let rows = self.manifest.entries_for(&stored.id).await.unwrap();
            let held = rows.iter().any(|r| r.is_committed() || r.intent_at_epoch_ms > threshold) || self.store.held_by_plain_put(&stored.id).await.unwrap();
            assert!(held, "aged orphan {} kept: {rows:?}", stored.id);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn commits_never_lie_and_no_committed_attachment_is_ever_deleted(ops in proptest::collection::vec(op(), 1..40), final_threshold in 0i64..120) {
        block_on(async {
            let store = InMemoryAttachmentStore::new();
            let world = World { manifest: store.manifest(), store, model: Default::default() };
            for op in &ops {
                world.apply(op).await;
                world.assert_kept().await;
            }
            let before = world.snapshot().await;
            let report = reclaim_orphaned_attachments(&world.manifest, &world.store, final_threshold, ReclaimOptions::default()).await.unwrap();
            world.assert_kept().await;
            world.assert_swept(final_threshold).await;
            let committed = |snapshot: &Snapshot| snapshot.rows.iter().filter(|row| row.3.is_some()).cloned().collect::<Vec<_>>();
            assert_eq!(committed(&world.snapshot().await), committed(&before), "a sweep never touches committed rows");
            assert!(report.deleted_count <= report.reclaimed_count && report.reclaimed_count <= report.scanned_intent_count + u64::from(SESSIONS) * u64::from(CONTENTS));
        });
    }
}

#[test]
fn progress_is_reported_and_abort_stops_between_batches() {
    block_on(async {
        let store = InMemoryAttachmentStore::new();
        let manifest = store.manifest();
        let contents: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_le_bytes().to_vec()).collect();
        for (at, bytes) in contents.iter().enumerate() {
            let intent = AttachmentIntent::new(content_id(bytes), "s", at as i64);
            store.put_with_intent(&manifest, &intent, bytes, meta()).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut on_progress = |done, total| seen.push((done, total));
        let checks = std::cell::Cell::new(0);
        // Asked before anything is read, then before each batch: abort before the second batch.
        let is_aborted = || {
            checks.set(checks.get() + 1);
            checks.get() > 2
        };
        let options = ReclaimOptions { on_progress: Some(&mut on_progress), is_aborted: Some(&is_aborted) };
        let error = reclaim_orphaned_attachments(&manifest, &store, 1_000, options).await.unwrap_err();
        assert_eq!(error.message(), ReclaimOptions::ABORTED);
        let batch = store.reclaim_batch_size() as u64;
        assert_eq!(seen, [(0, 200), (batch, 200)]);
        assert_eq!(store.list().await.unwrap().len() as u64, 200 - batch, "the first batch was reclaimed, the rest kept");

        let aborted = || true;
        let options = ReclaimOptions { on_progress: None, is_aborted: Some(&aborted) };
        let empty = InMemoryAttachmentStore::new();
        let error = reclaim_orphaned_attachments(&empty.manifest(), &empty, 1_000, options).await.unwrap_err();
        assert_eq!(error.message(), ReclaimOptions::ABORTED, "an aborted sweep rejects even with nothing to sweep");
    });
}
