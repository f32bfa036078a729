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
use super::super::error_map::js_error;
use crate::core::error::{AttachmentStoreError, Result};

/// An open connection. Closed when `close` is called, when another connection asks for a newer
/// version (`versionchange`: we step aside instead of blocking it), when the engine closes it, or
/// when the last handle is dropped. After that every transaction fails `Closed`.
pub(crate) struct Database {
    pub(super) raw: IdbDatabase,
    name: String,
    pub(super) closed: Rc<Cell<bool>>,
    /// The store-name arrays transactions were opened with, built once each (a handful).
    pub(super) scopes: RefCell<Vec<(&'static [&'static str], Array)>>,
    /// The last read transaction begun, offered to the reads after it ([`Database::read`]).
    pub(super) shared_read: Rc<RefCell<Option<SharedRead>>>,
    /// Forgets [`Self::shared_read`] once the engine has ended it (`complete` or `abort`). Owned by
    /// JavaScript's garbage collector, not by this connection: a read transaction may end after
    /// the connection's last handle is dropped, and must still find a live listener.
    pub(super) on_read_ended: Function,
    _on_lost: Closure<dyn FnMut(Event)>,
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
}

impl Drop for Database {
    fn drop(&mut self) {
        // The listener outlives the connection (see `on_read_ended`); the transaction need not.
        self.shared_read.borrow_mut().take();
        self.raw.close();
    }
}
