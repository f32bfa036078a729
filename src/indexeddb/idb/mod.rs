//! The one module that touches raw IndexedDB requests and transactions.
//!
//! Everything else goes through [`Database::run`] for writes, which hands a live [`Tx`] to an async
//! body and resolves only on the transaction's `complete` event (or fails on `abort`), or through
//! [`Database::read`] for reads, which may share a transaction the engine still keeps active with
//! the reads before it. Request futures issue their request when created (so several can be in
//! flight at once) and are woken from the request's own event, which keeps the transaction active:
//! bodies must await nothing but requests of their `Tx` (hash and validate before `run`).
//!
//! By IndexedDB concept, as Ekleog/indexed-db lays it out: [`factory`] (`indexedDB`, deleting),
//! [`database`] (a connection, opening and upgrading), [`transaction`] (a live transaction, and
//! [`transaction::runner`], how bodies run and reads share), [`object_store`], [`request`],
//! [`cursor`], [`key_range`], over [`event`], the callback-to-future bridge.

mod cursor;
mod database;
mod event;
mod factory;
mod key_range;
mod object_store;
mod request;
mod transaction;

pub(crate) use cursor::{rewrite_each, rewrite_each_by_count};
pub(crate) use database::Database;
pub use database::DataLoss;
pub(crate) use factory::delete_database;
pub(crate) use key_range::{array_of, between, between_keys, keys_after, keys_starting_with, uncommitted_between, uncommitted_keys};
pub(crate) use request::Request;
pub(crate) use transaction::{Mode, Tx};

#[cfg(test)]
mod tests;
