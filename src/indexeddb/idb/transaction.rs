//! A live transaction lent to a body, and how writing ones write. How bodies are run (and how
//! reads share transactions) is [`runner`].

pub(super) mod runner;

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{IdbRequest, IdbTransaction};

use super::event::EventFuture;
use super::object_store::Store;
use super::request::Request;
use super::super::error_map::js_error;
use crate::core::error::{AttachmentStoreError, Result};

#[wasm_bindgen]
extern "C" {
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
    /// `readwrite` that only deletes. It frees space, yet Firefox refuses some deletes with
    /// `QuotaExceededError` at a full quota (its journal needs room too), and lands them when
    /// asked again: so a refusal for space is retried after a pause, as a lost connection is.
    Free,
}

/// A live transaction, lent to the body of [`Database::run`].
pub(crate) struct Tx {
    pub(super) raw: IdbTransaction,
    /// `complete`/`abort`, listened to for writing transactions only.
    done: Option<EventFuture>,
    closed: Rc<Cell<bool>>,
    /// Whether a request that may fail without failing the transaction was issued
    /// ([`Store::add_unless_present`]).
    pub(super) tolerates_failure: Cell<bool>,
    /// Whether a store could not be opened or a request not be issued: on a shared read
    /// transaction, the sign that the engine has ended it ([`Database::read`] starts afresh).
    pub(super) refused: Cell<bool>,
}

impl Tx {
    pub(super) fn new(raw: IdbTransaction, done: Option<EventFuture>, closed: &Rc<Cell<bool>>) -> Self {
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
    pub(super) fn issue(&self, issued: std::result::Result<IdbRequest, JsValue>, context: &'static str) -> Request {
        if issued.is_err() {
            self.refused.set(true);
        }
        Request::issue(issued, context)
    }

    pub(super) async fn finish(self) -> Result<()> {
        let closed = Rc::clone(&self.closed);
        let Some(done) = self.done else { return Ok(()) };
        match done.await {
            Ok(_) => Ok(()),
            Err(_) if closed.get() => Err(AttachmentStoreError::closed()),
            Err(error) => Err(js_error(error, "the transaction was aborted")),
        }
    }
}
