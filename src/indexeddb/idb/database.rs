//! An open connection: opening (with its upgrade), closing, and what ends it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, IdbDatabase, IdbOpenDbRequest, IdbTransaction, IdbVersionChangeEvent};

use super::factory::factory;
use super::request::Request;
use super::transaction::runner::SharedRead;
use super::super::error_map::{js_error, reopen_failed};
use crate::core::error::{AttachmentStoreError, Result};

/// What the engine said when it opened a database it had to discard (Chromium: `dataLoss:
/// "total"` after it found the files damaged), so a host can tell an emptied store from a new one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataLoss {
    /// `"total"` (or another kind an engine reports).
    pub kind: String,
    /// The engine's explanation.
    pub message: String,
}

/// An open connection. Closed (every later transaction fails `Closed`) when `close` is called,
/// when another connection asks for a newer version (`versionchange`: we step aside instead of
/// blocking it), or when the last handle is dropped. *Lost* when the engine closes it on its own
/// (a `close` event, Chromium after a full disk, WebKit when its storage process dies) or a call
/// meets it closing: the next transaction reopens it first ([`Self::reopen`]).
pub(crate) struct Database {
    /// The live connection, replaced when a lost one is reopened.
    pub(super) raw: RefCell<IdbDatabase>,
    name: String,
    version: u32,
    upgrade: Upgrade,
    pub(super) closed: Rc<Cell<bool>>,
    pub(super) lost: Rc<Cell<bool>>,
    /// Whether the last call failed for want of space: Chromium then closes the connection, and a
    /// reopen fails for the same reason until space is freed.
    pub(super) out_of_space: Cell<bool>,
    /// The store-name arrays transactions were opened with, built once each (a handful).
    pub(super) scopes: RefCell<Vec<(&'static [&'static str], Array)>>,
    /// The last read transaction begun, offered to the reads after it ([`Database::read`]).
    pub(super) shared_read: Rc<RefCell<Option<SharedRead>>>,
    /// Forgets [`Self::shared_read`] once the engine has ended it (`complete` or `abort`). Owned by
    /// JavaScript's garbage collector, not by this connection: a read transaction may end after
    /// the connection's last handle is dropped, and must still find a live listener.
    pub(super) on_read_ended: Function,
    /// The `versionchange` and `close` listeners of the live connection.
    listeners: RefCell<Option<[Listener; 2]>>,
    /// What the engine said when it last discarded this database's data on opening it.
    data_loss: RefCell<Option<DataLoss>>,
}

/// An event listener kept alive while its connection is.
type Listener = Closure<dyn FnMut(Event)>;

/// Brings a database from `old_version` to the current schema inside the upgrade transaction.
pub(crate) type Upgrade = fn(&IdbDatabase, &IdbTransaction, u32) -> std::result::Result<(), JsValue>;

/// One open request, upgrade included: the connection, and what the engine said if it discarded
/// the database's data.
async fn open_connection(name: &str, version: u32, upgrade: Upgrade) -> Result<(IdbDatabase, Option<DataLoss>)> {
    let request = factory()?.open_with_u32(name, version).map_err(|error| js_error(error, "opening the database"))?;
    let failed_upgrade: Rc<RefCell<Option<JsValue>>> = Rc::default();
    let data_loss: Rc<RefCell<Option<DataLoss>>> = Rc::default();
    let (failure, lost) = (Rc::clone(&failed_upgrade), Rc::clone(&data_loss));
    let on_upgrade = Closure::<dyn FnMut(IdbVersionChangeEvent)>::new(move |event: IdbVersionChangeEvent| {
        let text = |name: &str| js_sys::Reflect::get(&event, &name.into()).ok().and_then(|value| value.as_string());
        if let Some(kind) = text("dataLoss").filter(|kind| kind != "none") {
            *lost.borrow_mut() = Some(DataLoss { kind, message: text("dataLossMessage").unwrap_or_default() });
        }
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
    let data_loss = data_loss.borrow_mut().take();
    Ok((opened?.unchecked_into(), data_loss))
}

impl Database {
    /// Opens (creating or upgrading) database `name` at `version`.
    pub(crate) async fn open(name: &str, version: u32, upgrade: Upgrade) -> Result<Rc<Self>> {
        let (raw, data_loss) = open_connection(name, version, upgrade).await?;
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
        let db = Self {
            raw: RefCell::new(raw),
            name: name.to_owned(),
            version,
            upgrade,
            closed: Rc::default(),
            lost: Rc::default(),
            out_of_space: Cell::new(false),
            scopes: RefCell::default(),
            shared_read,
            on_read_ended,
            listeners: RefCell::default(),
            data_loss: RefCell::new(data_loss),
        };
        db.listen();
        Ok(Rc::new(db))
    }

    /// Watches the live connection: another connection's `versionchange` closes ours for good; the
    /// engine closing it on its own marks it lost.
    fn listen(&self) {
        let raw = self.raw.borrow().clone();
        let (closed, connection) = (Rc::clone(&self.closed), raw.clone());
        let on_versionchange = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            closed.set(true);
            connection.close();
        });
        let lost = Rc::clone(&self.lost);
        let on_close = Closure::<dyn FnMut(Event)>::new(move |_: Event| lost.set(true));
        raw.set_onversionchange(Some(on_versionchange.as_ref().unchecked_ref()));
        raw.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *self.listeners.borrow_mut() = Some([on_versionchange, on_close]);
    }

    /// Opens the database again after its connection was lost, replacing it. Bounded: a few tries
    /// with growing pauses (the engine's storage process may be restarting), then a clear error.
    pub(crate) async fn reopen(&self) -> Result<()> {
        const PAUSES_MS: [u32; 4] = [0, 50, 250, 1000];
        let mut last = None;
        for pause in PAUSES_MS {
            self.check_open()?;
            if pause > 0 {
                sleep(pause).await;
            }
            // Bounded too: an engine may leave an open unanswered (a full disk). A late answer
            // finds its listeners gone, and the connection it opened is collected.
            match within(OPEN_TIMEOUT_MS, open_connection(&self.name, self.version, self.upgrade)).await.unwrap_or_else(|| Err(AttachmentStoreError::backend(format!("opening the database did not answer within {OPEN_TIMEOUT_MS} ms")))) {
                Ok((raw, data_loss)) => {
                    if data_loss.is_some() {
                        *self.data_loss.borrow_mut() = data_loss;
                    }
                    self.shared_read.borrow_mut().take();
                    let old = self.raw.replace(raw);
                    old.close();
                    self.listen();
                    self.lost.set(false);
                    return Ok(());
                }
                Err(error) => last = Some(error),
            }
        }
        Err(reopen_failed(last, PAUSES_MS.len(), self.out_of_space.get()))
    }

    /// The database's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// What the engine said if it discarded the database's data when this connection opened it.
    pub(crate) fn data_loss(&self) -> Option<DataLoss> {
        self.data_loss.borrow().clone()
    }

    /// Closes the connection (pending transactions still finish).
    pub(crate) fn close(&self) {
        self.closed.set(true);
        self.shared_read.borrow_mut().take();
        self.raw.borrow().close();
    }

    /// Closes the live connection as the engine would on its own, leaving it to be found lost.
    #[cfg(feature = "testing")]
    pub(crate) fn sever(&self) {
        self.shared_read.borrow_mut().take();
        self.raw.borrow().close();
    }

    /// Fails `Closed` once the connection is closed.
    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.get() {
            Err(AttachmentStoreError::closed())
        } else {
            Ok(())
        }
    }
}

/// How long one reopen attempt may take.
const OPEN_TIMEOUT_MS: u32 = 10_000;

/// `future`'s output, or `None` once `ms` have passed first.
async fn within<T>(ms: u32, future: impl std::future::Future<Output = T>) -> Option<T> {
    use std::future::Future as _;
    use std::task::Poll;
    let mut future = std::pin::pin!(future);
    let mut timer = std::pin::pin!(sleep(ms));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(value) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        timer.as_mut().poll(cx).map(|()| None)
    })
    .await
}

/// Waits `ms` in a timer (never inside a transaction: it would end it).
pub(crate) async fn sleep(ms: u32) {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into()).ok().and_then(|f| f.dyn_into::<Function>().ok());
        match set_timeout {
            Some(set_timeout) => drop(set_timeout.call2(&JsValue::NULL, &resolve, &JsValue::from(ms))),
            None => drop(resolve.call0(&JsValue::NULL)),
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(timer).await;
}

impl Drop for Database {
    fn drop(&mut self) {
        // The listener outlives the connection (see `on_read_ended`); the transaction need not.
        self.shared_read.borrow_mut().take();
        self.raw.borrow().close();
    }
}
