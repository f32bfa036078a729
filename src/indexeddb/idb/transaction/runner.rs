//! Running bodies in transactions: writes resolve on `complete`, reads resolve once answered and
//! may share a transaction the engine still keeps active with the reads before them.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{IdbTransaction, IdbTransactionMode};

use super::super::database::{sleep, Database};
use super::super::event::{attach_transaction, is_key_taken, EventFuture};
use super::{CommittableTransaction, Mode, Tx};
use super::super::super::error_map::{js_error, recovery, while_out_of_space, Recovery, ABORTED_WITHOUT_REASON};
use crate::core::error::{ErrorCode, Result};

#[wasm_bindgen]
extern "C" {
    /// `IDBDatabase`, bound here for `transaction(stores, mode, options)`: web-sys gates the
    /// options (durability) behind unstable APIs; engines that do not know an option ignore it.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;

    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(this: &DatabaseWithOptions, stores: &Array, mode: &str, options: &JsValue) -> std::result::Result<IdbTransaction, JsValue>;
}

/// A read transaction that later reads may use while the engine keeps it active. It is active
/// while its requests' success events are dispatched, microtasks included, which is where a caller
/// awaiting one read issues the next, and in the task that began it (reads issued side by side).
pub(crate) struct SharedRead {
    pub(crate) raw: IdbTransaction,
    pub(crate) stores: &'static [&'static str],
    pub(crate) reads: u32,
}

impl SharedRead {
    /// Reads one transaction serves at most. A read/write transaction another connection begins
    /// meanwhile waits for it to end, so sharing is bounded (32 small reads: a few milliseconds).
    pub(crate) const MAX_READS: u32 = 32;
}

/// How many times an operation runs (the first time included) before a lost connection's error is
/// reported: the connection is reopened before each retry, with growing pauses.
const ATTEMPTS: u32 = 4;

impl Database {
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
    ///
    /// A lost connection is reopened and the reads run again ([`Self::retrying`]).
    pub(crate) async fn read<T>(&self, stores: &'static [&'static str], body: impl AsyncFn(&Tx) -> Result<T>) -> Result<T> {
        self.retrying(false, async || self.read_once(stores, &body).await).await
    }

    async fn read_once<T>(&self, stores: &'static [&'static str], body: &impl AsyncFn(&Tx) -> Result<T>) -> Result<T> {
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
    ///
    /// If the connection is lost (before, or during: the outcome is then unknown, and WebKit
    /// reports an abort for a transaction that did commit), it is reopened and `body` runs again
    /// in a new transaction. Every write of this library is idempotent (content-addressed puts,
    /// stamps, forgets, deletes), so running one twice is harmless, and a write that may have
    /// landed is never reported lost.
    pub(crate) async fn run<T>(&self, stores: &'static [&'static str], mode: Mode, body: impl AsyncFn(&Tx) -> Result<T>) -> Result<T> {
        self.retrying(mode == Mode::Free, async || self.run_once(stores, mode, &body).await).await
    }

    /// Runs `attempt` until it succeeds, fails for a reason other than a lost connection (or, with
    /// `on_quota`, a refusal for space: [`Mode::Free`]), or has run [`ATTEMPTS`] times; reopening
    /// the connection first whenever it is lost.
    async fn retrying<T>(&self, on_quota: bool, attempt: impl AsyncFn() -> Result<T>) -> Result<T> {
        const QUOTA_PAUSES_MS: [u32; ATTEMPTS as usize] = [0, 100, 500, 2000];
        let mut tries = 1;
        loop {
            self.check_open()?;
            if self.lost.get() {
                self.reopen().await?;
            }
            let mut outcome = attempt().await;
            if self.out_of_space.get() {
                outcome = outcome.map_err(while_out_of_space);
            }
            match &outcome {
                Ok(_) => self.out_of_space.set(false),
                Err(error) if error.code() == ErrorCode::QuotaExceeded => self.out_of_space.set(true),
                Err(_) => {}
            }
            match outcome {
                Err(error) if tries < ATTEMPTS && !self.closed.get() && recovery(&error) == Recovery::Reopen => {
                    tries += 1;
                    self.lost.set(true);
                }
                Err(error) if tries < ATTEMPTS && on_quota && error.code() == ErrorCode::QuotaExceeded => {
                    sleep(QUOTA_PAUSES_MS[tries as usize]).await;
                    tries += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn run_once<T>(&self, stores: &'static [&'static str], mode: Mode, body: &impl AsyncFn(&Tx) -> Result<T>) -> Result<T> {
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
        let connection = self.raw.borrow().clone();
        let raw = match mode {
            None => connection.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readonly),
            Some(Mode::Write | Mode::Free) => connection.transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readwrite),
            Some(Mode::WriteStrict) => {
                let options = js_sys::Object::new();
                let _ = Reflect::set(&options, &"durability".into(), &"strict".into());
                connection.unchecked_ref::<DatabaseWithOptions>().transaction_with_options(&names, "readwrite", &options)
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
                // No reason given: what WebKit does when the disk is full (error_map decides).
                "abort" => Some(Err(source.error().map_or_else(|| JsValue::from_str(ABORTED_WITHOUT_REASON), JsValue::from))),
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
