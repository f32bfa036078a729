//! The one module that touches raw IndexedDB requests and transactions.
//!
//! Everything else goes through [`Database::run`] for writes, which hands a live [`Tx`] to an async
//! body and resolves only on the transaction's `complete` event (or fails on `abort`), or through
//! [`Database::read`] for reads, which may share a transaction the engine still keeps active with
//! the reads before it. Request futures issue their request when created (so several can be in
//! flight at once) and are woken from the request's own event, which keeps the transaction active:
//! bodies must await nothing but requests of their `Tx` (hash and validate before `run`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use js_sys::Function;
use web_sys::{Event, IdbDatabase, IdbFactory, IdbIndex, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction, IdbTransactionMode, IdbVersionChangeEvent};

use super::error_map::js_error;
use crate::core::error::{AttachmentStoreError, Result};

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase`, bound here for `transaction(stores, mode, options)`: web-sys gates the
    /// options (durability) behind unstable APIs; engines that do not know an option ignore it.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(this: &DatabaseWithOptions, stores: &Array, mode: &str, options: &JsValue) -> std::result::Result<IdbTransaction, JsValue>;

    /// `IDBTransaction`, bound here for `commit()` (web-sys marks it deprecated; it is standard
    /// and in every engine we test).
    #[wasm_bindgen(js_name = IDBTransaction)]
    type CommittableTransaction;

    #[wasm_bindgen(method, catch)]
    fn commit(this: &CommittableTransaction) -> std::result::Result<(), JsValue>;
}

/// How a writing transaction ([`Database::run`]) writes; reads go through [`Database::read`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `readwrite` with the engine's default durability (Chromium: `relaxed`).
    Write,
    /// `readwrite` with `durability: "strict"`: flushed to disk before `complete`.
    WriteStrict,
}

/// Sets (`Some`) or clears (`None`) the event handler properties an [`EventFuture`] listens on.
type Attach = fn(&JsValue, Option<&Function>);

fn attach_request(target: &JsValue, listener: Option<&Function>) {
    let request: &IdbRequest = target.unchecked_ref();
    request.set_onsuccess(listener);
    request.set_onerror(listener);
}

fn attach_transaction(target: &JsValue, listener: Option<&Function>) {
    let tx: &IdbTransaction = target.unchecked_ref();
    tx.set_oncomplete(listener);
    tx.set_onabort(listener);
    tx.set_onerror(listener);
}

/// Whether a request error bubbling to the transaction is an `add` finding its key taken, which
/// [`Store::add_unless_present`] means to tolerate (our schema has no unique index, so no other
/// request can raise it).
fn is_key_taken(event: &Event) -> bool {
    event
        .target()
        .and_then(|target| target.dyn_into::<IdbRequest>().ok())
        .and_then(|request| request.error().ok().flatten())
        .is_some_and(|error| error.name() == "ConstraintError")
}

/// A callback-to-future bridge: one listener on a target's event handler properties, detached
/// again when the future is dropped (so no dropped closure is ever invoked).
struct EventFuture {
    state: Rc<RefCell<EventState>>,
    target: JsValue,
    attach: Option<Attach>,
    _listener: Option<Closure<dyn FnMut(Event)>>,
}

#[derive(Default)]
struct EventState {
    outcome: Option<std::result::Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

impl EventFuture {
    /// Listens on `target` through `attach`; `settle` turns an event into the outcome, or `None`
    /// to keep waiting.
    fn listen(
        target: &JsValue,
        attach: Attach,
        mut settle: impl FnMut(&Event) -> Option<std::result::Result<JsValue, JsValue>> + 'static,
    ) -> Self {
        let state = Rc::new(RefCell::new(EventState::default()));
        let shared = Rc::clone(&state);
        let listener = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            if let Some(outcome) = settle(&event) {
                let waker = {
                    let mut state = shared.borrow_mut();
                    state.outcome.get_or_insert(outcome);
                    state.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        });
        attach(target, Some(listener.as_ref().unchecked_ref()));
        Self { state, target: target.clone(), attach: Some(attach), _listener: Some(listener) }
    }

    fn ready(outcome: std::result::Result<JsValue, JsValue>) -> Self {
        let state = Rc::new(RefCell::new(EventState { outcome: Some(outcome), waker: None }));
        Self { state, target: JsValue::UNDEFINED, attach: None, _listener: None }
    }
}

impl Future for EventFuture {
    type Output = std::result::Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.state.borrow_mut();
        match state.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for EventFuture {
    fn drop(&mut self) {
        if let Some(attach) = self.attach {
            attach(&self.target, None);
        }
    }
}

/// A request in flight: resolves with `request.result`, or fails with `request.error`.
pub(crate) struct Request {
    inner: EventFuture,
    context: &'static str,
}

impl Request {
    fn issue(issued: std::result::Result<IdbRequest, JsValue>, context: &'static str) -> Self {
        let inner = match issued {
            Ok(request) => {
                let source = request.clone();
                // Success or error: `error` tells which without reading the event's type.
                EventFuture::listen(&request, attach_request, move |_| {
                    Some(match source.error() {
                        Ok(None) => source.result(),
                        Ok(Some(error)) => Err(error.into()),
                        Err(thrown) => Err(thrown),
                    })
                })
            }
            Err(thrown) => EventFuture::ready(Err(thrown)),
        };
        Self { inner, context }
    }
}

impl Future for Request {
    type Output = Result<JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let context = self.context;
        Pin::new(&mut self.inner).poll(cx).map(|outcome| outcome.map_err(|error| js_error(error, context)))
    }
}

/// A live transaction, lent to the body of [`Database::run`].
pub(crate) struct Tx {
    raw: IdbTransaction,
    /// `complete`/`abort`, listened to for writing transactions only.
    done: Option<EventFuture>,
    closed: Rc<Cell<bool>>,
    /// Whether a request that may fail without failing the transaction was issued
    /// ([`Store::add_unless_present`]).
    tolerates_failure: Cell<bool>,
    /// Whether a store could not be opened or a request not be issued: on a shared read
    /// transaction, the sign that the engine has ended it ([`Database::read`] starts afresh).
    refused: Cell<bool>,
}

impl Tx {
    fn new(raw: IdbTransaction, done: Option<EventFuture>, closed: &Rc<Cell<bool>>) -> Self {
        Self { raw, done, closed: Rc::clone(closed), tolerates_failure: Cell::new(false), refused: Cell::new(false) }
    }

    /// An object store of this transaction.
    pub(crate) fn store(&self, name: &'static str) -> Result<Store<'_>> {
        let raw = self.raw.object_store(wasm_bindgen::intern(name)).map_err(|error| {
            self.refused.set(true);
            js_error(error, "opening an object store")
        })?;
        Ok(Store { raw, tx: self })
    }

    /// A read request of this transaction, noting whether the engine refused to issue it.
    fn issue(&self, issued: std::result::Result<IdbRequest, JsValue>, context: &'static str) -> Request {
        if issued.is_err() {
            self.refused.set(true);
        }
        Request::issue(issued, context)
    }

    async fn finish(self) -> Result<()> {
        let closed = Rc::clone(&self.closed);
        let Some(done) = self.done else { return Ok(()) };
        match done.await {
            Ok(_) => Ok(()),
            Err(_) if closed.get() => Err(AttachmentStoreError::closed()),
            Err(error) => Err(js_error(error, "the transaction was aborted")),
        }
    }
}

/// An object store inside a transaction. Reads return a [`Request`] to await; writes are issued
/// and left to the transaction (a failed write aborts it, and [`Database::run`] reports that).
pub(crate) struct Store<'tx> {
    raw: IdbObjectStore,
    tx: &'tx Tx,
}

impl Store<'_> {
    pub(crate) fn get(&self, key: &JsValue) -> Request {
        self.tx.issue(self.raw.get(key), "reading")
    }

    pub(crate) fn get_all(&self) -> Request {
        self.tx.issue(self.raw.get_all(), "listing")
    }

    pub(crate) fn get_all_in(&self, range: &JsValue) -> Request {
        self.tx.issue(self.raw.get_all_with_key(range), "reading")
    }

    pub(crate) fn get_all_keys_in(&self, range: &JsValue) -> Request {
        self.tx.issue(self.raw.get_all_keys_with_key(range), "reading keys")
    }

    pub(crate) fn count_in(&self, range: &JsValue) -> Request {
        self.tx.issue(self.raw.count_with_key(range), "counting")
    }

    /// Adds `value` under `key` unless the key is taken, in which case the stored value stays (for
    /// content-addressed bytes: same key, same bytes). Saves a read round trip before each write.
    /// The transaction's error listener lets the taken-key error pass without aborting.
    pub(crate) fn add_unless_present(&self, value: &JsValue, key: &JsValue) -> Result<()> {
        self.tx.tolerates_failure.set(true);
        self.raw.add_with_key(value, key).map(drop).map_err(|error| js_error(error, "writing"))
    }

    pub(crate) fn put(&self, value: &JsValue, key: Option<&JsValue>) -> Result<()> {
        let issued = match key {
            Some(key) => self.raw.put_with_key(value, key),
            None => self.raw.put(value),
        };
        issued.map(drop).map_err(|error| js_error(error, "writing"))
    }

    pub(crate) fn delete(&self, key: &JsValue) -> Result<()> {
        self.raw.delete(key).map(drop).map_err(|error| js_error(error, "deleting"))
    }

    pub(crate) fn index(&self, name: &'static str) -> Result<Index<'_>> {
        match self.raw.index(wasm_bindgen::intern(name)) {
            Ok(raw) => Ok(Index { raw, tx: self.tx }),
            Err(error) => {
                self.tx.refused.set(true);
                Err(js_error(error, "opening an index"))
            }
        }
    }
}

/// An index inside a transaction.
pub(crate) struct Index<'tx> {
    raw: IdbIndex,
    tx: &'tx Tx,
}

impl Index<'_> {
    pub(crate) fn get_all(&self, query: &JsValue) -> Request {
        self.tx.issue(self.raw.get_all_with_key(query), "reading an index")
    }

    pub(crate) fn get_all_keys(&self, query: &JsValue) -> Request {
        self.tx.issue(self.raw.get_all_keys_with_key(query), "reading an index")
    }
}

/// An open connection. Closed when `close` is called, when another connection asks for a newer
/// version (`versionchange`: we step aside instead of blocking it), when the engine closes it, or
/// when the last handle is dropped. After that every transaction fails `Closed`.
pub(crate) struct Database {
    raw: IdbDatabase,
    name: String,
    closed: Rc<Cell<bool>>,
    /// The store-name arrays transactions were opened with, built once each (a handful).
    scopes: RefCell<Vec<(&'static [&'static str], Array)>>,
    /// The last read transaction begun, offered to the reads after it ([`Database::read`]).
    shared_read: Rc<RefCell<Option<SharedRead>>>,
    /// Forgets [`Self::shared_read`] once the engine has ended it (`complete` or `abort`). Owned by
    /// JavaScript's garbage collector, not by this connection: a read transaction may end after
    /// the connection's last handle is dropped, and must still find a live listener.
    on_read_ended: Function,
    _on_lost: Closure<dyn FnMut(Event)>,
}

/// A read transaction that later reads may use while the engine keeps it active. It is active
/// while its requests' success events are dispatched, microtasks included, which is where a caller
/// awaiting one read issues the next, and in the task that began it (reads issued side by side).
struct SharedRead {
    raw: IdbTransaction,
    stores: &'static [&'static str],
    reads: u32,
}

impl SharedRead {
    /// Reads one transaction serves at most. A read/write transaction another connection begins
    /// meanwhile waits for it to end, so sharing is bounded (32 small reads: a few milliseconds).
    const MAX_READS: u32 = 32;
}

/// Brings a database from `old_version` to the current schema inside the upgrade transaction.
pub(crate) type Upgrade = fn(&IdbDatabase, &IdbTransaction, u32) -> std::result::Result<(), JsValue>;

impl Database {
    /// Opens (creating or upgrading) database `name` at `version`.
    pub(crate) async fn open(name: &str, version: u32, upgrade: Upgrade) -> Result<Rc<Self>> {
        let request = factory()?.open_with_u32(name, version).map_err(|error| js_error(error, "opening the database"))?;
        let failed_upgrade: Rc<RefCell<Option<JsValue>>> = Rc::default();
        let failure = Rc::clone(&failed_upgrade);
        let on_upgrade = Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |event: IdbVersionChangeEvent| {
            let Some(request) = event.target().and_then(|target| target.dyn_into::<IdbOpenDbRequest>().ok()) else { return };
            let (Ok(db), Some(tx)) = (request.result(), request.transaction()) else { return };
            if let Err(error) = upgrade(db.unchecked_ref(), &tx, event.old_version() as u32) {
                *failure.borrow_mut() = Some(error);
                let _ = tx.abort();
            }
        });
        request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
        // `blocked` (an older connection elsewhere has not closed yet) keeps us waiting, as the
        // platform intends; our own connections close on `versionchange`.
        let opened = Request::issue(Ok(request.clone().unchecked_into()), "opening the database").await;
        request.set_onupgradeneeded(None);
        if let Some(error) = failed_upgrade.borrow_mut().take() {
            return Err(js_error(error, "upgrading the database schema"));
        }
        let raw: IdbDatabase = opened?.unchecked_into();

        let closed = Rc::new(Cell::new(false));
        let (flag, connection) = (Rc::clone(&closed), raw.clone());
        let on_lost = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            flag.set(true);
            connection.close();
        });
        raw.set_onversionchange(Some(on_lost.as_ref().unchecked_ref()));
        raw.set_onclose(Some(on_lost.as_ref().unchecked_ref()));
        let shared_read: Rc<RefCell<Option<SharedRead>>> = Rc::default();
        let slot = Rc::clone(&shared_read);
        let on_read_ended = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Ok(mut slot) = slot.try_borrow_mut() else { return };
            if slot.as_ref().is_some_and(|shared| event.target().as_ref() == Some(shared.raw.as_ref())) {
                *slot = None;
            }
        })
        .into_js_value()
        .unchecked_into();
        Ok(Rc::new(Self { raw, name: name.to_owned(), closed, scopes: RefCell::default(), shared_read, on_read_ended, _on_lost: on_lost }))
    }

    /// The database's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Closes the connection (pending transactions still finish).
    pub(crate) fn close(&self) {
        self.closed.set(true);
        self.shared_read.borrow_mut().take();
        self.raw.close();
    }

    /// Fails `Closed` once the connection is gone.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.get() {
            Err(AttachmentStoreError::closed())
        } else {
            Ok(())
        }
    }

    /// Runs the reads of `body` over `stores`, resolving once they have answered (waiting for the
    /// transaction's `complete` would only add latency).
    ///
    /// The transaction may be shared with the reads before it: beginning one costs the engine as
    /// much main-thread time as a small read itself, and a read that awaits another usually runs
    /// while the other's transaction is still active. Sharing sees nothing stale: a write this
    /// connection begins ends the sharing (so a read issued after a write sees it), and one another
    /// connection begins later waits for the shared transaction to end. If the engine has ended it
    /// (a request cannot be issued), `body` runs again on a fresh transaction: reads have no
    /// effects, so running one twice is harmless.
    pub(crate) async fn read<T>(&self, stores: &'static [&'static str], body: impl AsyncFn(&Tx) -> Result<T>) -> Result<T> {
        if let Some(tx) = self.shared_read_over(stores)? {
            let outcome = body(&tx).await;
            if !tx.refused.get() {
                return outcome;
            }
        }
        // Also takes the shared slot (over one the engine ended).
        let tx = self.begin(stores, None)?;
        body(&tx).await
    }

    /// The shared read transaction, if it covers `stores` and may serve one more read.
    fn shared_read_over(&self, stores: &'static [&'static str]) -> Result<Option<Tx>> {
        self.check_open()?;
        let mut slot = self.shared_read.borrow_mut();
        Ok(slot.as_mut().filter(|shared| shared.reads < SharedRead::MAX_READS && stores.iter().all(|name| shared.stores.contains(name))).map(|shared| {
            shared.reads += 1;
            Tx::new(shared.raw.clone(), None, &self.closed)
        }))
    }

    /// Runs `body` in a writing transaction over `stores`, resolving once it has committed. If
    /// `body` fails the transaction is aborted, so none of its writes land.
    pub(crate) async fn run<T>(&self, stores: &'static [&'static str], mode: Mode, body: impl AsyncFnOnce(&Tx) -> Result<T>) -> Result<T> {
        let tx = self.begin(stores, Some(mode))?;
        match body(&tx).await {
            Ok(value) => {
                // Everything is issued: commit now rather than when the engine notices no
                // request is pending, which saves it a round trip per write transaction. Not
                // with a tolerated failure in flight: after `commit()` engines abort on any
                // failed request. An engine without `commit()` autocommits.
                if !tx.tolerates_failure.get() {
                    let _ = tx.raw.unchecked_ref::<CommittableTransaction>().commit();
                }
                tx.finish().await.map(|()| value)
            }
            Err(error) => {
                // If the engine aborted the transaction (a full disk, a value over its size limit),
                // its reason is the real error; what the body saw next ("the transaction has
                // finished", "aborted") is only a consequence.
                if let Some(reason) = tx.raw.error() {
                    return Err(js_error(reason.into(), "the transaction was aborted"));
                }
                let _ = tx.raw.abort();
                let _ = tx.finish().await;
                Err(error)
            }
        }
    }

    /// `stores` as a JavaScript array, built on first use.
    fn scope(&self, stores: &'static [&'static str]) -> Array {
        let mut scopes = self.scopes.borrow_mut();
        if let Some((_, names)) = scopes.iter().find(|(cached, _)| *cached == stores) {
            return names.clone();
        }
        let names: Array = stores.iter().map(|name| JsValue::from_str(name)).collect();
        scopes.push((stores, names.clone()));
        names
    }

    /// Begins a transaction over `stores`: a writing one in `mode`, or (`None`) a read.
    fn begin(&self, stores: &'static [&'static str], mode: Option<Mode>) -> Result<Tx> {
        self.check_open()?;
        let names = self.scope(stores);
        let raw = match mode {
            None => self.raw.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readonly),
            Some(Mode::Write) => self.raw.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite),
            Some(Mode::WriteStrict) => {
                let options = js_sys::Object::new();
                let _ = Reflect::set(&options, &"durability".into(), &"strict".into());
                self.raw.unchecked_ref::<DatabaseWithOptions>().transaction_with_options(&names, "readwrite", &options)
            }
        }
        .map_err(|error| js_error(error, "starting a transaction"))?;
        if mode.is_none() {
            raw.set_oncomplete(Some(&self.on_read_ended));
            raw.set_onabort(Some(&self.on_read_ended));
            *self.shared_read.borrow_mut() = Some(SharedRead { raw: raw.clone(), stores, reads: 1 });
            return Ok(Tx::new(raw, None, &self.closed));
        }
        // Reads issued after this write must see it: they may no longer share an earlier read.
        self.shared_read.borrow_mut().take();
        let done = {
            let source = raw.clone();
            EventFuture::listen(&raw, attach_transaction, move |event| match event.type_().as_str() {
                "complete" => Some(Ok(JsValue::UNDEFINED)),
                "abort" => Some(Err(source.error().map_or_else(|| JsValue::from_str("AbortError"), JsValue::from))),
                // A request failed; unless it is a tolerated taken key, `abort` follows.
                _ => {
                    if is_key_taken(event) {
                        event.prevent_default();
                    }
                    None
                }
            })
        };
        Ok(Tx::new(raw, Some(done), &self.closed))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // The listener outlives the connection (see `on_read_ended`); the transaction need not.
        self.shared_read.borrow_mut().take();
        self.raw.close();
    }
}

/// Deletes database `name` (resolves once no connection holds it open).
pub(crate) async fn delete_database(name: &str) -> Result<()> {
    let request = factory()?.delete_database(name).map_err(|error| js_error(error, "deleting the database"))?;
    Request::issue(Ok(request.unchecked_into()), "deleting the database").await.map(drop)
}

/// `indexedDB` from the global scope, so windows and workers alike work.
fn factory() -> Result<IdbFactory> {
    let global = js_sys::global();
    match Reflect::get(&global, &"indexedDB".into()) {
        Ok(value) if !value.is_undefined() && !value.is_null() => Ok(value.unchecked_into()),
        _ => Err(AttachmentStoreError::backend("IndexedDB is not available in this JavaScript environment")),
    }
}

/// A `[sessionId, attachmentId]`-style compound key or any array value.
pub(crate) fn array_of(values: &[&str]) -> JsValue {
    values.iter().map(|value| JsValue::from_str(value)).collect::<Array>().into()
}

/// `IDBKeyRange.bound(lower, upper)` (both inclusive) over string keys.
pub(crate) fn between(lower: &str, upper: &str) -> Result<JsValue> {
    between_keys(&JsValue::from_str(lower), &JsValue::from_str(upper))
}

/// `IDBKeyRange.bound(lower, upper)` (both inclusive).
pub(crate) fn between_keys(lower: &JsValue, upper: &JsValue) -> Result<JsValue> {
    web_sys::IdbKeyRange::bound(lower, upper).map(JsValue::from).map_err(|error| js_error(error, "building a key range"))
}

/// For an upgrade (which runs in an event callback, where no future can be awaited): walks every
/// record of `store` with a cursor, counts the entries of `index` under `key_of(record)`, and
/// rewrites the record with `rewrite(record, count)` when that gives a new value. One record at a
/// time, so memory stays bounded. A failed request aborts the upgrade transaction (the open then
/// fails and nothing is upgraded).
pub(crate) fn rewrite_each_by_count(
    store: &IdbObjectStore,
    index: IdbIndex,
    key_of: fn(&JsValue) -> Option<JsValue>,
    rewrite: fn(&JsValue, f64) -> Option<JsValue>,
) -> std::result::Result<(), JsValue> {
    let request = store.open_cursor()?;
    let on_cursor = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let Some(request) = event.target().and_then(|target| target.dyn_into::<IdbRequest>().ok()) else { return };
        let Some(cursor) = request.result().ok().filter(|cursor| !cursor.is_null()) else { return };
        let cursor: web_sys::IdbCursorWithValue = cursor.unchecked_into();
        let record = cursor.value().unwrap_or_default();
        let Some(counted) = key_of(&record).and_then(|key| index.count_with_key(&key).ok()) else {
            let _ = cursor.continue_();
            return;
        };
        let source = counted.clone();
        let on_count = Closure::once_into_js(move |_: Event| {
            let count = source.result().ok().and_then(|count| count.as_f64()).unwrap_or(f64::NAN);
            if let Some(rewritten) = rewrite(&record, count) {
                let _ = cursor.update(&rewritten);
            }
            let _ = cursor.continue_();
        });
        counted.set_onsuccess(Some(on_count.unchecked_ref()));
    });
    request.set_onsuccess(Some(on_cursor.into_js_value().unchecked_ref()));
    Ok(())
}

/// `IDBKeyRange.bound([first], [first, []])`: every compound key `[first, anything]` (an array
/// sorts after every string or number, and `[first]` before every `[first, x]`).
pub(crate) fn keys_starting_with(first: &str) -> Result<JsValue> {
    let after_all: Array = [JsValue::from_str(first), Array::new().into()].into_iter().collect();
    between_keys(&array_of(&[first]), &after_all.into())
}

/// `IDBKeyRange.upperBound(value)` (inclusive).
pub(crate) fn at_most(value: f64) -> Result<JsValue> {
    web_sys::IdbKeyRange::upper_bound(&JsValue::from_f64(value)).map(JsValue::from).map_err(|error| js_error(error, "building a key range"))
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
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
        assert_eq!(js_error(exception("InvalidStateError"), "x").code(), ErrorCode::Closed);
        assert_eq!(js_error(exception("UnknownError"), "x").code(), ErrorCode::Backend);
        assert_eq!(js_error(JsValue::from_str("AbortError"), "x").message(), "IndexedDB failed x: AbortError");
    }
}
