//! The Durable Object backend (wasm32): attachments, metadata and manifest rows in a Cloudflare
//! Durable Object's storage (`ctx.storage`), which is where an edge agent keeps its state.
//!
//! Bytes are chunked below the storage's 2 MB per-value limit; a session's put and each sweep step
//! run in one `storage.transaction()`. `storage` is the only code touching the storage API;
//! `tables` maps rows to keys.

mod manifest;
mod storage;
mod store;
mod tables;

pub use manifest::DurableObjectAttachmentManifest;
pub use store::DurableObjectAttachmentStore;
