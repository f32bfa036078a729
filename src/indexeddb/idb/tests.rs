//! The transaction runner's own tests, in real engines.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Event, IdbTransaction};

use super::transaction::runner::SharedRead;
use super::*;
use crate::core::error::{AttachmentStoreError, Result};
use crate::core::error::ErrorCode;
use crate::indexeddb::schema::{self, META};

async fn fresh(tag: &str) -> Rc<Database> {
    let name = format!("idb-{tag}-{}-{}", js_sys::Date::now(), js_sys::Math::random());
    Database::open(&name, schema::VERSION, schema::upgrade).await.unwrap()
}

fn meta_row(id: &str) -> JsValue {
    let row = js_sys::Object::new();
    Reflect::set(&row, &"id".into(), &id.into()).unwrap();
    row.into()
}

#[wasm_bindgen_test]
async fn a_failing_body_aborts_every_write_of_its_transaction() {
    let db = fresh("abort").await;
    let outcome: Result<()> = db
        .run(&[META], Mode::Write, async |tx| {
            tx.store(META)?.put(&meta_row("written-then-aborted"), None)?;
            Err(AttachmentStoreError::invalid_input("the body changed its mind"))
        })
        .await;
    assert_eq!(outcome.unwrap_err().message(), "the body changed its mind");
    let found = db.read(&[META], async |tx| tx.store(META)?.get(&"written-then-aborted".into()).await).await.unwrap();
    assert!(found.is_undefined(), "the aborted write must not land");
}

/// Waits `ms` in a timer: a task boundary, so every transaction begun before it has ended.
async fn sleep(ms: i32) {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into()).unwrap();
        set_timeout.unchecked_into::<js_sys::Function>().call2(&JsValue::NULL, &resolve, &JsValue::from(ms)).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(timer).await.unwrap();
}

/// Reads `key` from `meta`, noting the transaction it ran in.
async fn read_noting(db: &Database, key: &str, seen: &RefCell<Vec<JsValue>>) -> JsValue {
    db.read(&[META], async |tx| {
        seen.borrow_mut().push(tx.raw.clone().into());
        tx.store(META)?.get(&key.into()).await
    })
    .await
    .unwrap()
}

fn distinct(values: &[JsValue]) -> usize {
    values.iter().enumerate().filter(|(i, value)| !values[..*i].contains(value)).count()
}

#[wasm_bindgen_test]
async fn reads_awaiting_each_other_share_a_transaction_up_to_a_bound() {
    let db = fresh("shared-reads").await;
    let seen = RefCell::new(Vec::new());
    let reads = SharedRead::MAX_READS as usize + 8;
    for _ in 0..reads {
        read_noting(&db, "absent", &seen).await;
    }
    let seen = seen.into_inner();
    assert_eq!(distinct(&seen), 2, "{reads} reads: one transaction for the first {}, a second for the rest", SharedRead::MAX_READS);
    assert!(seen[..SharedRead::MAX_READS as usize].iter().all(|tx| *tx == seen[0]));
}

#[wasm_bindgen_test]
async fn a_read_issued_after_a_write_sees_it_though_an_earlier_read_is_active() {
    let db = fresh("read-after-write").await;
    let seen = RefCell::new(Vec::new());
    // This read's transaction is still active where the code after it runs.
    read_noting(&db, "written", &seen).await;
    let write = db.run(&[META], Mode::Write, async |tx| tx.store(META)?.put(&meta_row("written"), None));
    let read = read_noting(&db, "written", &seen);
    // Polled in order: the write is begun (and its put issued) before the read.
    let (written, found) = futures::future::join(write, read).await;
    written.unwrap();
    assert!(!found.is_undefined(), "the read was issued after the write and must see it");
    assert_eq!(distinct(&seen.into_inner()), 2, "the read must not share the transaction begun before the write");
}

#[wasm_bindgen_test]
async fn a_shared_read_the_engine_has_ended_is_forgotten_or_replaced() {
    let db = fresh("ended-read").await;
    let seen = RefCell::new(Vec::new());
    read_noting(&db, "absent", &seen).await;
    sleep(20).await;
    assert!(db.shared_read.borrow().is_none(), "its complete event forgets the ended transaction");
    db.run(&[META], Mode::Write, async |tx| tx.store(META)?.put(&meta_row("later"), None)).await.unwrap();
    // Offered anyway (an end the listener has not heard of yet): the read starts afresh.
    let ended: IdbTransaction = seen.borrow()[0].clone().unchecked_into();
    *db.shared_read.borrow_mut() = Some(SharedRead { raw: ended, stores: &[META], reads: 1 });
    let found = read_noting(&db, "later", &seen).await;
    assert!(!found.is_undefined(), "read on a fresh transaction");
    let seen = seen.into_inner();
    assert_eq!((seen.len(), distinct(&seen)), (3, 2), "tried the ended transaction, then a fresh one");
}

#[wasm_bindgen_test]
async fn a_connection_dropped_before_its_read_transaction_ends_leaves_nothing_to_fail() {
    let uncaught = Rc::new(Cell::new(0));
    let count = Rc::clone(&uncaught);
    let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| count.set(count.get() + 1));
    let global: web_sys::EventTarget = js_sys::global().unchecked_into();
    global.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref()).unwrap();
    let db = fresh("dropped").await;
    read_noting(&db, "absent", &RefCell::default()).await;
    // The read has answered; its transaction's `complete` comes in a later task.
    drop(db);
    sleep(50).await;
    global.remove_event_listener_with_callback("error", on_error.as_ref().unchecked_ref()).unwrap();
    assert_eq!(uncaught.get(), 0, "a late `complete` must find a live listener");
}

#[wasm_bindgen_test]
async fn a_failing_request_fails_the_transaction() {
    let db = fresh("request-error").await;
    // `meta` is keyed by `id`; a row without one is a DataError, thrown when the request is made.
    let outcome = db.run(&[META], Mode::Write, async |tx| tx.store(META)?.put(&js_sys::Object::new(), None)).await;
    let error = outcome.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Backend);
    assert!(error.message().contains("DataError"), "{error}");
    assert!(db.read(&[META], async |tx| tx.store(META)?.get_all().await).await.is_ok(), "the connection stays usable");
}

#[wasm_bindgen_test]
async fn awaiting_anything_but_requests_ends_the_transaction_with_a_clear_error() {
    let db = fresh("inactive").await;
    let outcome = db
        .run(&[META], Mode::Write, async |tx| {
            let store = tx.store(META)?;
            sleep(10).await;
            store.put(&meta_row("too-late"), None)
        })
        .await;
    let error = outcome.unwrap_err();
    assert!(error.message().contains("TransactionInactiveError") && error.message().contains("awaited something other"), "{error}");
}

#[wasm_bindgen_test]
async fn transactions_on_a_closed_connection_fail_closed() {
    let db = fresh("closed").await;
    db.close();
    let error = db.read(&[META], async |tx| tx.store(META)?.get_all().await).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Closed);
}

#[wasm_bindgen_test]
fn dom_exceptions_map_to_contract_codes_and_keep_their_cause() {
    use crate::indexeddb::error_map::js_error;
    let exception = |name: &str| JsValue::from(web_sys::DomException::new_with_message_and_name("detail", name).unwrap());
    let quota = js_error(exception("QuotaExceededError"), "writing");
    assert_eq!(quota.code(), ErrorCode::QuotaExceeded);
    assert_eq!(Reflect::get(quota.js_cause().unwrap(), &"name".into()).unwrap(), "QuotaExceededError");
    let closing = js_error(exception("InvalidStateError"), "x");
    assert_eq!((closing.code(), crate::indexeddb::error_map::recovery(&closing)), (ErrorCode::Backend, crate::indexeddb::error_map::Recovery::Reopen), "the engine closing our connection: reopen");
    let no_space = js_error(JsValue::from(web_sys::DomException::new_with_message_and_name("Failed to write blobs (IOError)", "DataError").unwrap()), "x");
    assert_eq!((no_space.code(), crate::indexeddb::error_map::recovery(&no_space)), (ErrorCode::QuotaExceeded, crate::indexeddb::error_map::Recovery::Report));
    assert_eq!(js_error(JsValue::from_str(crate::indexeddb::error_map::ABORTED_WITHOUT_REASON), "x").code(), ErrorCode::QuotaExceeded, "WebKit: an abort without a reason");
    assert_eq!(js_error(exception("NotReadableError"), "x").code(), ErrorCode::Corrupt);
    assert_eq!(js_error(exception("UnknownError"), "x").code(), ErrorCode::Backend);
    assert_eq!(js_error(JsValue::from_str("AbortError"), "x").message(), "IndexedDB failed x: AbortError");
}

#[wasm_bindgen_test]
async fn the_manifest_keeps_only_the_indexes_something_reads() {
    let db = fresh("indexes").await;
    let manifest = db.raw.borrow().transaction_with_str(schema::MANIFEST).unwrap().object_store(schema::MANIFEST).unwrap();
    // `indexNames` is a DOMStringList: array-like, sorted.
    let names: Vec<String> = js_sys::Array::from(&Reflect::get(&manifest, &"indexNames".into()).unwrap()).iter().filter_map(|name| name.as_string()).collect();
    assert_eq!(names, [schema::BY_ATTACHMENT, schema::BY_UNCOMMITTED], "every index costs a write per row write");
}
