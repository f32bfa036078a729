//! IndexedDB in a real browser (Chromium, Firefox, WebKit through WebDriver): the conformance suite
//! and what only a real engine shows (several connections, `versionchange`, stored layout).
#![cfg(target_arch = "wasm32")]

use futures::future::join;
use js_sys::{Array, ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_attachments::indexeddb::SCHEMA_VERSION;
use web_attachments::testing::conformance::{run_all, ConformanceHarness};
use web_attachments::{
    content_id, reclaim_orphaned_attachments, AttachmentCreateMeta, AttachmentId, AttachmentIntent, AttachmentManifest, AttachmentStore,
    ErrorCode, IndexedDbAttachmentManifest, IndexedDbAttachmentStore, ReclaimOptions, Result, SessionScopedAttachmentStore, SessionState,
};
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest};

wasm_bindgen_test_configure!(run_in_browser);

#[path = "browser/integrity.rs"]
mod integrity;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", js_sys::Date::now(), (js_sys::Math::random() * 1e9) as u64)
}

fn meta(media_type: &str) -> AttachmentCreateMeta {
    AttachmentCreateMeta::new(media_type).unwrap()
}

struct Idb;

#[async_trait::async_trait(?Send)]
impl ConformanceHarness for Idb {
    type Store = IndexedDbAttachmentStore;
    type Manifest = IndexedDbAttachmentManifest;

    async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)> {
        let store = IndexedDbAttachmentStore::open(&unique("conformance")).await?;
        let manifest = store.manifest();
        Ok((store, manifest))
    }

    async fn reopen(&mut self, store: Self::Store, manifest: Self::Manifest) -> Result<Option<(Self::Store, Self::Manifest)>> {
        let name = store.name().to_owned();
        store.close();
        drop((store, manifest));
        let store = IndexedDbAttachmentStore::open(&name).await?;
        let manifest = store.manifest();
        Ok(Some((store, manifest)))
    }

    fn close(&self, store: &Self::Store, _: &Self::Manifest) {
        store.close();
    }
}

struct SessionOverIdb;

#[async_trait::async_trait(?Send)]
impl ConformanceHarness for SessionOverIdb {
    type Store = SessionScopedAttachmentStore<IndexedDbAttachmentStore, IndexedDbAttachmentManifest>;
    type Manifest = IndexedDbAttachmentManifest;

    async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)> {
        let store = IndexedDbAttachmentStore::open(&unique("conformance-session")).await?;
        Ok((store.session("conformance")?, store.manifest()))
    }

    async fn reopen(&mut self, store: Self::Store, manifest: Self::Manifest) -> Result<Option<(Self::Store, Self::Manifest)>> {
        let name = store.inner().name().to_owned();
        store.inner().close();
        drop((store, manifest));
        let store = IndexedDbAttachmentStore::open(&name).await?;
        Ok(Some((store.session("conformance")?, store.manifest())))
    }

    fn close(&self, store: &Self::Store, _: &Self::Manifest) {
        store.inner().close();
    }
}

#[wasm_bindgen_test]
async fn indexeddb_store_conforms() {
    run_all(&mut Idb).await;
}

#[wasm_bindgen_test]
async fn session_scoped_indexeddb_store_conforms() {
    run_all(&mut SessionOverIdb).await;
}

#[wasm_bindgen_test]
async fn data_survives_close_and_reopen() {
    let name = unique("reopen");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let session = store.session("s").unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let reference = session.put(&big, meta("application/pdf").with_label("report.pdf")).await.unwrap();
    session.commit().await.unwrap();
    store.close();
    drop((session, store));

    let reopened = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let stored = reopened.get(&reference.id).await.unwrap();
    assert_eq!(stored.meta, reference);
    assert!(stored.bytes == big, "bytes survive a reopen");
    let rows = reopened.manifest().entries_for(&reference.id).await.unwrap();
    assert!(rows.len() == 1 && rows[0].is_committed());
}

#[wasm_bindgen_test]
async fn two_connections_see_each_others_writes() {
    let name = unique("two-connections");
    let (a, b) = (IndexedDbAttachmentStore::open(&name).await.unwrap(), IndexedDbAttachmentStore::open(&name).await.unwrap());
    let reference = a.put(b"from a", meta("text/plain")).await.unwrap();
    assert_eq!(b.get(&reference.id).await.unwrap().bytes, b"from a");
    b.manifest().record_intent(&AttachmentIntent::new(reference.id.clone(), "b-session", 5)).await.unwrap();
    assert_eq!(a.manifest().entries_for(&reference.id).await.unwrap().len(), 1);
    b.delete(&reference.id).await.unwrap();
    assert_eq!(a.head(&reference.id).await.unwrap(), None);
    a.close();
    assert_eq!(a.list().await.unwrap_err().code(), ErrorCode::Closed);
    assert!(b.list().await.unwrap().is_empty(), "closing one connection leaves the other open");
}

/// The heart of the promise: a sweep on one connection while another connection (another tab or
/// worker) re-puts and commits the same content. Whatever the interleaving, committed content
/// keeps its bytes and the rest is reclaimed.
#[wasm_bindgen_test]
async fn sweep_racing_re_puts_and_commits_on_another_connection_loses_nothing() {
    let name = unique("race");
    let sweeper = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let other_tab = IndexedDbAttachmentStore::open(&name).await.unwrap();
    for round in 0..3 {
        let contents: Vec<Vec<u8>> = (0..40).map(|i| format!("round {round} attachment {i}").into_bytes()).collect();
        for bytes in &contents {
            let intent = AttachmentIntent::new(content_id(bytes), "abandoned", 1_000);
            sweeper.put_with_intent(&sweeper.manifest(), &intent, bytes, meta("text/plain")).await.unwrap();
        }
        let session = other_tab.session(&format!("live-{round}")).unwrap();
        let racer = async {
            let mut committed = Vec::new();
            for bytes in contents.iter().step_by(2) {
                session.put(bytes, meta("text/plain")).await.unwrap();
                committed.extend(session.commit().await.unwrap());
            }
            committed
        };
        let manifest = sweeper.manifest();
        let sweep = reclaim_orphaned_attachments(&manifest, &sweeper, 2_000, ReclaimOptions::default());
        let (report, committed) = join(sweep, racer).await;
        let report = report.unwrap();
        assert_eq!(committed.len(), 20);
        for id in &committed {
            assert!(sweeper.get(id).await.is_ok() && other_tab.get(id).await.is_ok(), "round {round}: committed {id} lost");
        }
        for bytes in contents.iter().skip(1).step_by(2) {
            assert_eq!(sweeper.get(&content_id(bytes)).await.unwrap_err().code(), ErrorCode::NotFound, "round {round}: orphan kept");
        }
        assert_eq!(report.scanned_intent_count, 40);
        assert!(report.deleted_count >= 20 && report.deleted_count <= 40, "{report:?}");
        assert!(sweeper.manifest().list_uncommitted(2_000).await.unwrap().is_empty());
    }
}

/// A commit's state the engine cannot store (a function) fails inside the commit's transaction,
/// after its stamps were issued: the transaction aborts, so neither the stamps nor the state land.
#[wasm_bindgen_test]
async fn a_commit_whose_state_the_engine_refuses_writes_neither_stamps_nor_state() {
    let store = IndexedDbAttachmentStore::open(&unique("refused-state")).await.unwrap();
    let session = store.session("s").unwrap();
    let id = session.put(b"attachment", meta("text/plain")).await.unwrap().id;
    let function: JsValue = js_sys::Function::new_no_args("return 1").into();
    let error = session.commit_with_state(SessionState::Js(function)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput, "{error}");
    assert!(error.message().contains("DataCloneError"), "{error}");
    let rows = store.manifest().entries_for(&id).await.unwrap();
    assert!(rows.len() == 1 && !rows[0].is_committed(), "the stamp did not land: {rows:?}");
    assert_eq!(store.manifest().session_state("s").await.unwrap(), None, "no state landed");
    assert_eq!(session.pending_manifest_commit_ids(), vec![id.clone()], "still pending");
    let state = SessionState::Js(js_sys::JSON::parse(r#"{"turns":["hello"]}"#).unwrap());
    assert_eq!(session.commit_with_state(state).await.unwrap(), vec![id]);
    let saved = store.manifest().session_state("s").await.unwrap();
    let Some(SessionState::Js(saved)) = saved else { panic!("a JavaScript state reads back as one: {saved:?}") };
    assert_eq!(js_sys::JSON::stringify(&saved).unwrap(), r#"{"turns":["hello"]}"#);
}

/// What the commits issue found (677 of 933 resolved commits' attachments gone): one connection
/// sweeps everything uncommitted, over and over, while another puts and commits. Every commit that
/// resolves has its attachments afterwards and through a final sweep; the others reject naming
/// what is gone, and a re-put makes them whole.
#[wasm_bindgen_test]
async fn a_sweep_on_another_connection_never_leaves_a_resolved_commit_without_its_attachments() {
    let name = unique("commit-race");
    let sweeper = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let writer = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let running = std::cell::Cell::new(true);
    let sweeps = async {
        let mut count = 0;
        while running.get() {
            reclaim_orphaned_attachments(&sweeper.manifest(), &sweeper, js_sys::Date::now() as i64 + 60_000, ReclaimOptions::default()).await.unwrap();
            count += 1;
            sleep(count % 4).await;
        }
        count
    };
    let commits = async {
        let (mut resolved, mut rejected) = (Vec::new(), 0);
        for round in 0..60 {
            let session = writer.session(&format!("conversation-{}", round % 5)).unwrap();
            for i in 0..3 {
                session.put(format!("round {round} item {i}").as_bytes(), meta("text/plain")).await.unwrap();
            }
            match session.commit().await {
                Ok(ids) => resolved.extend(ids),
                Err(error) => {
                    assert_eq!(error.code(), ErrorCode::NotFound, "{error}");
                    assert!(!error.ids().is_empty());
                    rejected += 1;
                    // The caller's way back: put the missing content again, commit again.
                    for id in error.ids() {
                        let i = (0..3).find(|i| &content_id(format!("round {round} item {i}").as_bytes()) == id).expect("one of this round's");
                        session.put(format!("round {round} item {i}").as_bytes(), meta("text/plain")).await.unwrap();
                    }
                    if let Ok(ids) = session.commit().await {
                        resolved.extend(ids);
                    }
                }
            }
        }
        running.set(false);
        (resolved, rejected)
    };
    let (sweeps, (resolved, rejected)) = join(sweeps, commits).await;
    reclaim_orphaned_attachments(&sweeper.manifest(), &sweeper, js_sys::Date::now() as i64 + 60_000, ReclaimOptions::default()).await.unwrap();
    assert!(sweeps > 1 && !resolved.is_empty(), "{sweeps} sweeps, {} resolved, {rejected} rejected", resolved.len());
    for id in &resolved {
        assert!(writer.head(id).await.unwrap().is_some(), "a resolved commit's {id} is gone ({rejected} commits rejected, {sweeps} sweeps)");
    }
}

/// Waits `ms` in a timer.
async fn sleep(ms: u32) {
    let timer = Promise::new(&mut |resolve, _| {
        let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into()).unwrap();
        set_timeout.unchecked_into::<js_sys::Function>().call2(&JsValue::NULL, &resolve, &JsValue::from(ms)).unwrap();
    });
    JsFuture::from(timer).await.unwrap();
}

async fn settle(request: &IdbRequest) -> std::result::Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await?;
    request.result()
}

fn factory() -> IdbFactory {
    Reflect::get(&js_sys::global(), &"indexedDB".into()).unwrap().unchecked_into()
}

/// A plain connection, as another library or a newer version of this one would open it.
async fn raw_open(name: &str, version: u32) -> IdbDatabase {
    let request: IdbOpenDbRequest = factory().open_with_u32(name, version).unwrap();
    settle(&request).await.expect("raw open").unchecked_into()
}

async fn raw_put(db: &IdbDatabase, store: &str, value: &JsValue, key: Option<&str>) {
    let tx = db.transaction_with_str_and_mode(store, web_sys::IdbTransactionMode::Readwrite).unwrap();
    let object_store = tx.object_store(store).unwrap();
    let request = match key {
        Some(key) => object_store.put_with_key(value, &key.into()),
        None => object_store.put(value),
    };
    settle(&request.unwrap()).await.unwrap();
}

#[wasm_bindgen_test]
async fn versionchange_from_another_connection_closes_ours_cleanly() {
    let name = unique("versionchange");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let reference = store.put(b"before the upgrade", meta("text/plain")).await.unwrap();
    // A newer schema elsewhere: our connection must step aside, or this open would be blocked.
    let newer = raw_open(&name, SCHEMA_VERSION + 1).await;
    assert_eq!(store.get(&reference.id).await.unwrap_err().code(), ErrorCode::Closed);
    assert_eq!(store.manifest().list_uncommitted(0).await.unwrap_err().code(), ErrorCode::Closed);
    newer.close();
    // Opening a database newer than this library understands fails clearly instead of hanging.
    let error = IndexedDbAttachmentStore::open(&name).await.err().expect("a newer database is refused");
    assert_eq!(error.code(), ErrorCode::Backend);
    assert!(error.message().contains("VersionError") && error.js_cause().is_some(), "{error}");
}

#[wasm_bindgen_test]
async fn delete_database_succeeds_while_our_connection_is_open() {
    let name = unique("delete-database");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    store.put(b"doomed", meta("text/plain")).await.unwrap();
    IndexedDbAttachmentStore::delete_database(&name).await.unwrap();
    assert_eq!(store.list().await.unwrap_err().code(), ErrorCode::Closed);
    let fresh = IndexedDbAttachmentStore::open(&name).await.unwrap();
    assert!(fresh.list().await.unwrap().is_empty());
}

/// A plain object with these fields, as a raw row.
fn plain_object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        Reflect::set(&object, &(*name).into(), value).unwrap();
    }
    object.into()
}

/// The value stored under `id` in `store`, read with a plain connection.
async fn raw_get(db: &IdbDatabase, store: &str, id: &str) -> JsValue {
    let tx = db.transaction_with_str(store).unwrap();
    settle(&tx.object_store(store).unwrap().get(&id.into()).unwrap()).await.unwrap()
}

#[wasm_bindgen_test]
async fn bytes_are_stored_as_exact_length_array_buffers() {
    let name = unique("layout");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let small = store.put(&[7u8; 1000], meta("application/octet-stream")).await.unwrap();
    let large = store.put(&[8u8; 70_000], meta("application/octet-stream")).await.unwrap();
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    // Small bytes: the metadata row plus the bytes, so a get reads one record.
    let record = raw_get(&db, "bytes", small.id.as_str()).await;
    assert_eq!(Reflect::get(&record, &"id".into()).unwrap(), small.id.as_str());
    assert_eq!(Reflect::get(&record, &"byteLen".into()).unwrap(), 1000);
    let buffer: ArrayBuffer = Reflect::get(&record, &"bytes".into()).unwrap().dyn_into().expect("an ArrayBuffer, not a view or Blob");
    assert_eq!(buffer.byte_length(), 1000);
    let buffer: ArrayBuffer = raw_get(&db, "bytes", large.id.as_str()).await.dyn_into().expect("large bytes are a bare ArrayBuffer");
    assert_eq!(buffer.byte_length(), 70_000);
    let row = raw_get(&db, "meta", small.id.as_str()).await;
    assert_eq!(Reflect::get(&row, &"mediaType".into()).unwrap(), "application/octet-stream");
    assert!(!Reflect::has(&row, &"label".into()).unwrap(), "absent fields are absent, not null");
    assert!(!Reflect::has(&row, &"bytes".into()).unwrap(), "the metadata row holds no bytes");
    db.close();
    // Bare bytes read with their metadata row: after it (a fresh connection does not know them to
    // be bare yet), then alongside (it does now).
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    for _ in 0..2 {
        let read = store.get(&large.id).await.unwrap();
        assert_eq!((read.bytes.len(), read.meta), (70_000, large.clone()));
    }
}

#[wasm_bindgen_test]
async fn small_bytes_written_by_schema_version_1_still_read_and_are_rewritten_by_a_put() {
    let name = unique("v1-records");
    IndexedDbAttachmentStore::open(&name).await.unwrap().close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    let id = content_id(b"version 1");
    raw_put(&db, "bytes", &Uint8Array::from(&b"version 1"[..]).buffer(), Some(id.as_str())).await;
    let row = plain_object(&[("id", id.as_str().into()), ("mediaType", "text/plain".into()), ("byteLen", 9.into())]);
    raw_put(&db, "meta", &row, None).await;
    db.close();

    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let read = store.get(&id).await.unwrap();
    assert_eq!((read.bytes.as_slice(), read.meta.media_type.as_str()), (&b"version 1"[..], "text/plain"));
    let mut relabelled = meta("text/markdown");
    relabelled.label = Some("again".into());
    store.put(b"version 1", relabelled).await.unwrap();
    let read = store.get(&id).await.unwrap();
    assert_eq!((read.meta.media_type.as_str(), read.meta.label.as_deref()), ("text/markdown", Some("again")));
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    assert!(!raw_get(&db, "bytes", id.as_str()).await.is_instance_of::<ArrayBuffer>(), "rewritten with its metadata");
    db.close();
}

#[wasm_bindgen_test]
async fn damaged_rows_give_typed_errors_and_leave_the_store_usable() {
    let name = unique("damaged");
    IndexedDbAttachmentStore::open(&name).await.unwrap().close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    let bytes_only = content_id(b"bytes without metadata");
    raw_put(&db, "bytes", &Uint8Array::from(&b"bytes without metadata"[..]).buffer(), Some(bytes_only.as_str())).await;
    let garbled = content_id(b"garbled");
    let bad_meta = plain_object(&[("id", garbled.as_str().into()), ("mediaType", "not a media type".into())]);
    raw_put(&db, "meta", &bad_meta, None).await;
    let bad_row = plain_object(&[("sessionId", "s".into()), ("attachmentId", garbled.as_str().into()), ("intentAtEpochMs", "yesterday".into())]);
    raw_put(&db, "manifest", &bad_row, None).await;
    db.close();

    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    assert_eq!(store.get(&bytes_only).await.unwrap_err().code(), ErrorCode::MissingMeta);
    assert_eq!(store.head(&garbled).await.unwrap_err().code(), ErrorCode::MetadataDecode);
    assert_eq!(store.list().await.unwrap_err().code(), ErrorCode::MetadataDecode);
    assert_eq!(store.manifest().entries_for(&garbled).await.unwrap_err().code(), ErrorCode::MetadataDecode);
    // The damage is contained: the rest of the store still works, and deleting repairs it.
    let fine = store.put(b"fine", meta("text/plain")).await.unwrap();
    assert_eq!(store.get(&fine.id).await.unwrap().bytes, b"fine");
    store.delete(&garbled).await.unwrap();
    store.manifest().forget(&garbled, None).await.unwrap();
    assert_eq!(store.list().await.unwrap().len(), 1);
}

#[wasm_bindgen_test]
async fn an_intent_that_does_not_name_the_bytes_is_rejected_and_writes_nothing() {
    let store = IndexedDbAttachmentStore::open(&unique("mismatch")).await.unwrap();
    let intent = AttachmentIntent::new(content_id(b"other"), "s", 1);
    let error = store.put_with_intent(&store.manifest(), &intent, b"these", meta("text/plain")).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::InvalidInput);
    assert!(store.list().await.unwrap().is_empty());
    assert!(store.manifest().list_uncommitted(i64::MAX).await.unwrap().is_empty());
}

#[wasm_bindgen_test]
async fn manifest_rows_are_keyed_by_session_and_attachment() {
    let name = unique("keys");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let id = content_id(b"k");
    store.manifest().record_intent(&AttachmentIntent::new(id.clone(), "s1", 1)).await.unwrap();
    store.manifest().record_intent(&AttachmentIntent::new(id.clone(), "s2", 2)).await.unwrap();
    store.manifest().record_intent(&AttachmentIntent::new(id.clone(), "s1", 3)).await.unwrap();
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    let tx = db.transaction_with_str("manifest").unwrap();
    let keys: Array = settle(&tx.object_store("manifest").unwrap().get_all_keys().unwrap()).await.unwrap().unchecked_into();
    let keys: Vec<String> = keys.iter().map(|key| key.unchecked_into::<Array>().join(",").into()).collect();
    assert_eq!(keys, [format!("s1,{id}"), format!("s2,{id}")]);
    db.close();
}

/// Contents whose ids fall strictly between `low` and `high`, found by trying labelled contents.
fn contents_between(label: &str, low: &web_attachments::AttachmentId, high: &web_attachments::AttachmentId, count: usize) -> Vec<Vec<u8>> {
    (0..).map(|i| format!("{label} {i}").into_bytes()).filter(|bytes| (low..high).contains(&&content_id(bytes)) && &content_id(bytes) != low).take(count).collect()
}

async fn count(db: &IdbDatabase, store: &str) -> f64 {
    let tx = db.transaction_with_str(store).unwrap();
    settle(&tx.object_store(store).unwrap().count().unwrap()).await.unwrap().as_f64().unwrap()
}

#[wasm_bindgen_test]
async fn a_dense_sweep_deletes_only_what_it_plans_even_among_damaged_and_committed_neighbours() {
    // 40 orphans make a dense batch: it is read as one stretch of ids. In the stretch also lie a
    // committed attachment, bytes without metadata, a garbled metadata row and a young intent of
    // the orphans' own session, none of them the sweep's: they must survive, and the damaged ones
    // must not stop it.
    let name = unique("dense");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let orphans: Vec<Vec<u8>> = (0..40).map(|i| format!("orphan {i}").into_bytes()).collect();
    for bytes in &orphans {
        let intent = AttachmentIntent::new(content_id(bytes), "abandoned", 1_000);
        store.put_with_intent(&store.manifest(), &intent, bytes, meta("text/plain")).await.unwrap();
    }
    let mut ids: Vec<_> = orphans.iter().map(|bytes| content_id(bytes)).collect();
    ids.sort();
    let [kept, bytes_only, garbled, young]: [Vec<u8>; 4] = contents_between("neighbour", &ids[0], &ids[39], 4).try_into().unwrap();
    store.manifest().record_intent(&AttachmentIntent::new(content_id(&young), "abandoned", 3_000)).await.unwrap();
    let session = store.session("kept").unwrap();
    let kept_id = session.put(&kept, meta("text/plain")).await.unwrap().id;
    session.commit().await.unwrap();
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    raw_put(&db, "bytes", &Uint8Array::from(&bytes_only[..]).buffer(), Some(content_id(&bytes_only).as_str())).await;
    let bad_meta = plain_object(&[("id", content_id(&garbled).as_str().into()), ("mediaType", "not a media type".into())]);
    raw_put(&db, "meta", &bad_meta, None).await;
    db.close();

    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let report = reclaim_orphaned_attachments(&store.manifest(), &store, 2_000, ReclaimOptions::default()).await.unwrap();
    assert_eq!((report.scanned_intent_count, report.deleted_count, report.deleted_bytes), (40, 40, orphans.iter().map(|b| b.len() as u64).sum()));
    for id in &ids {
        assert_eq!(store.get(id).await.unwrap_err().code(), ErrorCode::NotFound, "orphan {id} kept");
    }
    assert_eq!(store.get(&kept_id).await.unwrap().bytes, kept, "the committed neighbour survives");
    assert_eq!(store.get(&content_id(&bytes_only)).await.unwrap_err().code(), ErrorCode::MissingMeta, "bytes without metadata stay");
    assert_eq!(store.head(&content_id(&garbled)).await.unwrap_err().code(), ErrorCode::MetadataDecode, "the garbled row stays");
    assert!(store.manifest().list_uncommitted(2_000).await.unwrap().is_empty());
    assert_eq!(store.manifest().entries_for(&content_id(&young)).await.unwrap().len(), 1, "the young intent of the same session stays");
    store.close();

    // Only orphans in a stretch: all of it goes (as range deletes), leaving nothing behind.
    let name = unique("dense-all");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    for bytes in &orphans {
        let intent = AttachmentIntent::new(content_id(bytes), "abandoned", 1_000);
        store.put_with_intent(&store.manifest(), &intent, bytes, meta("text/plain")).await.unwrap();
    }
    let report = reclaim_orphaned_attachments(&store.manifest(), &store, 2_000, ReclaimOptions::default()).await.unwrap();
    assert_eq!((report.deleted_count, report.reclaimed_count), (40, 40));
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    for table in ["bytes", "meta", "manifest"] {
        assert_eq!(count(&db, table).await, 0.0, "{table} left behind");
    }
    db.close();
}
