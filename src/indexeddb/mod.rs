//! The IndexedDB backend (wasm32): one database holds bytes, metadata and manifest rows, so a
//! session's put (intent + bytes + metadata) and each sweep step (re-check + deletes) are single
//! transactions.
//!
//! Layout: `idb` is the only code touching raw requests and transactions; `error_map` turns
//! their errors into the contract's codes; `schema` owns the layout and its upgrades; `tables`
//! reads and writes typed rows inside a transaction; `store` and `manifest` are the public types.

mod error_map;
pub(crate) mod idb;
mod manifest;
mod schema;
mod store;
mod tables;
mod tombstones;

pub use idb::DataLoss;
pub use manifest::IndexedDbAttachmentManifest;
#[cfg(feature = "js")]
pub(crate) use store::BufferPut;
pub use store::{IndexedDbAttachmentStore, OpenOptions, DEFAULT_DATABASE_NAME};

/// The schema version this build writes (for tests and diagnostics).
pub const SCHEMA_VERSION: u32 = schema::VERSION;
