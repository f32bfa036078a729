//! The memory backend: ephemeral, for tests, servers and runtimes without IndexedDB. A store and
//! its manifest share one set of [`tables`], so every operation that touches both (a session's
//! put, a commit, a sweep step) is one transaction.

mod manifest;
mod store;
mod tables;

pub use manifest::InMemoryAttachmentManifest;
pub use store::InMemoryAttachmentStore;
#[cfg(all(feature = "js", target_arch = "wasm32"))]
pub(crate) use store::HashedPut;
