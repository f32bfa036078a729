//! SQLite's I/O-error loop over the rules above every backend: for N = 1, 2, 3, ... an operation
//! runs with its Nth storage operation failing (once, and that one and every one after it), on the
//! memory backend with a [`FaultInjector`]. After each run:
//! - a single-transaction operation (a session's put, a commit with state, a release, a discard)
//!   left the data exactly as before, or, if it succeeded, exactly as a fault-free run leaves it;
//! - a sweep (one transaction per batch) may stop between batches, but committed attachments and
//!   plain puts are all there, and a fault-free sweep afterwards ends where one without faults does;
//! - the store keeps working once the faults stop.
#![cfg(all(not(target_arch = "wasm32"), feature = "testing"))]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::executor::block_on;
use web_attachments::testing::faults::FaultInjector;
use web_attachments::{
    content_id, reclaim_orphaned_attachments, AttachmentCreateMeta, AttachmentId, AttachmentIntent, AttachmentManifest,
    AttachmentStore, InMemoryAttachmentStore, ReclaimOptions, Result, SessionState,
};

/// Times below this are the setup's own; above it, "now" (stamps and releases), compared as equal.
const NOW_FROM: i64 = 1_000_000_000_000;

fn meta() -> AttachmentCreateMeta {
    AttachmentCreateMeta::new("application/octet-stream").unwrap()
}

fn bytes(name: &str) -> Vec<u8> {
    name.as_bytes().to_vec()
}

/// Every row, attachment (with whether a plain put holds it) and state, times "now" folded to -1.
#[derive(Debug, PartialEq)]
struct Snapshot {
    rows: BTreeSet<(String, AttachmentId, i64, Option<i64>)>,
    stored: BTreeMap<AttachmentId, bool>,
    states: BTreeMap<String, SessionState>,
}

struct Ctx {
    store: InMemoryAttachmentStore,
    faults: Arc<FaultInjector>,
    /// Every content the scenario may touch.
    contents: Vec<Vec<u8>>,
    sessions: Vec<String>,
}

impl Ctx {
    fn new(contents: Vec<Vec<u8>>) -> Self {
        let faults = Arc::new(FaultInjector::new());
        Self { store: InMemoryAttachmentStore::with_faults(Arc::clone(&faults)), faults, contents, sessions: vec!["a".into(), "b".into()] }
    }

    async fn put_as(&self, session: &str, content: &[u8], at: i64) {
        let intent = AttachmentIntent::new(content_id(content), session, at);
        self.store.put_with_intent(&self.store.manifest(), &intent, content, meta()).await.unwrap();
    }

    async fn snapshot(&self) -> Snapshot {
        let fold = |at: i64| if at >= NOW_FROM { -1 } else { at };
        let manifest = self.store.manifest();
        let mut rows = BTreeSet::new();
        let mut stored = BTreeMap::new();
        for content in &self.contents {
            let id = content_id(content);
            for row in manifest.entries_for(&id).await.unwrap() {
                rows.insert((row.session_id, row.attachment_id, fold(row.intent_at_epoch_ms), row.committed_at_epoch_ms.map(fold)));
            }
            if self.store.head(&id).await.unwrap().is_some() {
                stored.insert(id.clone(), self.store.held_by_plain_put(&id).await.unwrap());
            }
        }
        let mut states = BTreeMap::new();
        for session in &self.sessions {
            if let Some(state) = manifest.session_state(session).await.unwrap() {
                states.insert(session.clone(), state);
            }
        }
        Snapshot { rows, stored, states }
    }

    /// What must survive any fault: committed attachments and plain puts.
    fn assert_held(&self, snapshot: &Snapshot, before: &Snapshot, what: &str) {
        for (session, id, _, committed) in &before.rows {
            if committed.is_some() {
                assert!(snapshot.stored.contains_key(id), "{what}: {session}'s committed {id} is gone");
            }
        }
        for (id, plain) in &before.stored {
            if *plain {
                assert!(snapshot.stored.contains_key(id), "{what}: the plain put {id} is gone");
            }
        }
    }
}

/// An async step over a context.
type Step<T> = for<'a> fn(&'a Ctx) -> Pin<Box<dyn Future<Output = T> + 'a>>;

/// A scenario: the contents it uses, how to set it up, and the operation under faults.
struct Scenario {
    name: &'static str,
    /// Whether the operation is one transaction (else a sweep: one per batch).
    atomic: bool,
    contents: fn() -> Vec<Vec<u8>>,
    setup: Step<()>,
    operation: Step<Result<()>>,
}

/// Contents "x", "y", "z", "w", plus `orphans` more.
fn contents_with(orphans: usize) -> Vec<Vec<u8>> {
    let mut contents: Vec<Vec<u8>> = ["x", "y", "z", "w"].iter().map(|name| bytes(name)).collect();
    contents.extend((0..orphans).map(|i| format!("orphan {i}").into_bytes()));
    contents
}

/// Session a intends x (uncommitted), commits y with a state; b intends y; a plain put of z.
fn common_setup(ctx: &Ctx) -> Pin<Box<dyn Future<Output = ()> + '_>> {
    Box::pin(async move {
        ctx.put_as("a", b"x", 10).await;
        ctx.put_as("a", b"y", 10).await;
        let a = ctx.store.session("a").unwrap();
        a.commit_with_state(SessionState::Bytes(b"state 0".to_vec())).await.unwrap();
        ctx.put_as("a", b"x", 10).await;
        ctx.put_as("b", b"y", 20).await;
        ctx.store.put(b"z", meta()).await.unwrap();
        for content in &ctx.contents[4..] {
            ctx.put_as("b", content, 30).await;
        }
    })
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "a session's put (intent, bytes, metadata)",
            atomic: true,
            contents: || contents_with(0),
            setup: common_setup,
            operation: |ctx| Box::pin(async move { ctx.store.session("a")?.put(b"w", meta()).await.map(drop) }),
        },
        Scenario {
            name: "a commit with state",
            atomic: true,
            contents: || contents_with(0),
            setup: common_setup,
            operation: |ctx| Box::pin(async move { ctx.store.session("b")?.commit_with_state(SessionState::Bytes(b"state b".to_vec())).await.map(drop) }),
        },
        Scenario {
            name: "a release",
            atomic: true,
            contents: || contents_with(0),
            setup: common_setup,
            operation: |ctx| Box::pin(async move { ctx.store.manifest().release_session("a").await }),
        },
        Scenario {
            name: "a discard",
            atomic: true,
            contents: || contents_with(0),
            setup: common_setup,
            operation: |ctx| Box::pin(async move { ctx.store.session("a")?.discard(&[content_id(b"x"), content_id(b"z")]).await }),
        },
        Scenario {
            name: "a sweep of 130 orphans (three batches)",
            atomic: false,
            contents: || contents_with(130),
            setup: common_setup,
            operation: |ctx| {
                Box::pin(async move {
                    let store = &ctx.store;
                    reclaim_orphaned_attachments(&store.manifest(), store, 1_000, ReclaimOptions::default()).await.map(drop)
                })
            },
        },
    ]
}

async fn run(scenario: &Scenario) -> u64 {
    // The fault-free run: what "after" looks like, and how many storage operations it takes.
    let clean = Ctx::new((scenario.contents)());
    (scenario.setup)(&clean).await;
    let start = clean.faults.operations();
    (scenario.operation)(&clean).await.unwrap_or_else(|error| panic!("{}: the fault-free run failed: {error}", scenario.name));
    let operations = clean.faults.operations() - start;
    let expected_after = clean.snapshot().await;
    assert!(operations > 0, "{}: no storage operation was counted", scenario.name);

    for forever in [false, true] {
        for n in 1..=operations + 1 {
            let what = format!("{} with storage operation {n} failing{}", scenario.name, if forever { " and every one after" } else { " once" });
            let ctx = Ctx::new((scenario.contents)());
            (scenario.setup)(&ctx).await;
            let before = ctx.snapshot().await;
            ctx.faults.fail_nth(n, forever);
            let outcome = (scenario.operation)(&ctx).await;
            ctx.faults.disarm();
            let after = ctx.snapshot().await;
            match &outcome {
                Ok(()) => assert!(n > operations || !scenario.atomic, "{what}: succeeded although a fault was injected"),
                Err(error) => assert_eq!(error.message(), FaultInjector::MESSAGE, "{what}: {error}"),
            }
            ctx.assert_held(&after, &before, &what);
            if scenario.atomic {
                let expected = if outcome.is_ok() { &expected_after } else { &before };
                assert_eq!(&after, expected, "{what}: the data is neither as before nor as after");
            } else if outcome.is_err() {
                // Stopped between batches: running it again without faults finishes the job.
                (scenario.operation)(&ctx).await.unwrap_or_else(|error| panic!("{what}: the rerun failed: {error}"));
                assert_eq!(ctx.snapshot().await, expected_after, "{what}: a rerun does not end where a fault-free run does");
            }
            // The store keeps working.
            ctx.store.put(b"after the fault", meta()).await.unwrap_or_else(|error| panic!("{what}: the store stopped working: {error}"));
        }
    }
    operations
}

#[test]
fn every_storage_operation_can_fail_without_tearing_any_operation() {
    block_on(async {
        for scenario in scenarios() {
            let operations = run(&scenario).await;
            println!("{}: {operations} storage operations, each failed once and forever", scenario.name);
        }
    });
}

#[test]
fn a_failure_inside_a_commit_with_state_leaves_neither_stamps_nor_state() {
    block_on(async {
        let ctx = Ctx::new(contents_with(0));
        let session = ctx.store.session("a").unwrap();
        session.put(b"x", meta()).await.unwrap();
        // The commit's last storage operation is the state's write, after the stamps.
        ctx.faults.fail_nth(3, false);
        let error = session.commit_with_state(SessionState::Bytes(b"s".to_vec())).await.unwrap_err();
        assert_eq!(error.message(), FaultInjector::MESSAGE);
        let rows = ctx.store.manifest().entries_for(&content_id(b"x")).await.unwrap();
        assert!(rows.iter().all(|row| !row.is_committed()), "the stamp was undone: {rows:?}");
        assert_eq!(ctx.store.manifest().session_state("a").await.unwrap(), None, "no state");
        assert_eq!(session.pending_manifest_commit_ids(), vec![content_id(b"x")], "still pending");
        assert_eq!(session.commit_with_state(SessionState::Bytes(b"s".to_vec())).await.unwrap(), vec![content_id(b"x")]);
    });
}
