//! Object stores and indexes inside a transaction: reads return a [`Request`], writes are issued
//! and left to the transaction.

use web_sys::{IdbIndex, IdbObjectStore};
use wasm_bindgen::JsValue;

use super::request::Request;
use super::transaction::Tx;
use super::super::error_map::js_error;
use crate::core::error::Result;

/// An object store inside a transaction. Reads return a [`Request`] to await; writes are issued
/// and left to the transaction (a failed write aborts it, and [`Database::run`] reports that).
pub(crate) struct Store<'tx> {
    pub(super) raw: IdbObjectStore,
    pub(super) tx: &'tx Tx,
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

    /// `getAll(range, limit)`: `range` may be `undefined` (every key); no `limit`, no bound.
    pub(crate) fn get_all_limited(&self, range: &JsValue, limit: Option<u32>) -> Request {
        match limit {
            Some(limit) => self.tx.issue(self.raw.get_all_with_key_and_limit(range, limit), "listing"),
            None => self.tx.issue(self.raw.get_all_with_key(range), "listing"),
        }
    }

    /// `getAllKeys(range, limit)`.
    pub(crate) fn get_all_keys_limited(&self, range: &JsValue, limit: u32) -> Request {
        self.tx.issue(self.raw.get_all_keys_with_key_and_limit(range, limit), "reading keys")
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

    /// `getAll(range, limit)`.
    pub(crate) fn get_all_limited(&self, range: &JsValue, limit: u32) -> Request {
        self.tx.issue(self.raw.get_all_with_key_and_limit(range, limit), "reading an index")
    }

    pub(crate) fn count_in(&self, range: &JsValue) -> Request {
        self.tx.issue(self.raw.count_with_key(range), "counting in an index")
    }

    /// Walks `range` (a `count` whose answer nobody reads) for what walking does to the engine;
    /// issued and left to the transaction, as a write is.
    pub(crate) fn walk(&self, range: &JsValue) -> Result<()> {
        self.raw.count_with_key(range).map(drop).map_err(|error| js_error(error, "reading an index"))
    }
}
