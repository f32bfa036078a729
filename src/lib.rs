//! # web-attachments
//!
//! A content-addressed attachment store for the web platform. Attachments (images, PDFs, audio)
//! are addressed by the SHA-256 of their bytes. A *session* records a write-ahead intent in a
//! manifest before its bytes land, *commits* the refs when it durably saves its own state, and a
//! host-called [`reclaim_orphaned_attachments`] sweep deletes bytes whose intents were never
//! committed after a grace period. No committed attachment is ever deleted.
//!
//! Layers, from the inside out:
//! - [`core`]: pure rules (ids, media types, manifest and sweep rules), no storage, no browser.
//! - [`AttachmentStore`] and [`AttachmentManifest`]: what a backend provides.
//! - Backends: [`InMemoryAttachmentStore`] / [`InMemoryAttachmentManifest`] everywhere, and
//!   `IndexedDbAttachmentStore` / `IndexedDbAttachmentManifest` on wasm32.
//! - [`SessionScopedAttachmentStore`], [`reclaim_orphaned_attachments`],
//!   [`resolve_llm_request_attachments`]: built on the traits, so they work on every backend.
//!
//! ```
//! # futures::executor::block_on(async {
//! use web_attachments::{AttachmentCreateMeta, AttachmentStore, InMemoryAttachmentStore, reclaim_orphaned_attachments, ReclaimOptions};
//!
//! let store = InMemoryAttachmentStore::new();
//! let session = store.session("conversation-1")?;
//! let reference = session.put(b"\x89PNG...", AttachmentCreateMeta::new("image/png")?.with_label("cat.png")).await?;
//! session.commit().await?; // after the conversation's own state is saved
//!
//! // Later, the host reclaims what was never committed within an hour.
//! let hour_ago = web_attachments::core::clock::now_epoch_ms() - 3_600_000;
//! let report = reclaim_orphaned_attachments(&store.manifest(), &store, hour_ago, ReclaimOptions::default()).await?;
//! assert_eq!(report.deleted_count, 0);
//! assert_eq!(store.get(&reference.id).await?.bytes, b"\x89PNG...");
//! # Ok::<(), web_attachments::AttachmentStoreError>(())
//! # }).unwrap();
//! ```

#![warn(missing_docs)]

pub mod core;
mod llm;
mod manifest;
pub mod memory;
mod reclaim;
mod session;
mod session_state;
mod store;
mod verify;

#[cfg(target_arch = "wasm32")]
pub mod indexeddb;

#[cfg(target_arch = "wasm32")]
mod records;

#[cfg(target_arch = "wasm32")]
pub mod body;

#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub mod durable_object;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(all(feature = "js", target_arch = "wasm32"))]
mod js;

// The JavaScript layer's executor, also compiled on its own for its unit tests: the `js` feature's
// bindings import the npm package's JavaScript, which the wasm test runner does not serve.
#[cfg(all(test, target_arch = "wasm32", not(feature = "js")))]
#[path = "js/task.rs"]
mod js_task;

pub use crate::core::error::{AttachmentStoreError, ErrorCode, Result};
pub use crate::core::id::{content_id, AttachmentId, ContentHasher};
pub use crate::core::manifest_rules::{AttachmentIntent, AttachmentManifestEntry};
pub use crate::core::media_type::MediaType;
pub use crate::core::meta::{AttachmentCreateMeta, AttachmentMeta, AttachmentRef, StoredAttachment};
pub use crate::core::sweep_rules::AttachmentReclamationReport;
pub use crate::llm::{resolve_llm_request_attachments, LlmRequestAttachment};
pub use crate::manifest::AttachmentManifest;
pub use crate::memory::{InMemoryAttachmentManifest, InMemoryAttachmentStore};
pub use crate::reclaim::{reclaim_orphaned_attachments, ReclaimOptions, SWEEP_PAGE_ROWS};
pub use crate::session::SessionScopedAttachmentStore;
pub use crate::session_state::SessionState;
pub use crate::store::{AttachmentStore, AttachmentStorePersistence};
pub use crate::verify::{verify_attachments, VerifyOptions, VerifyReport};

#[cfg(all(target_arch = "wasm32", feature = "durable-object"))]
pub use crate::durable_object::{DurableObjectAttachmentManifest, DurableObjectAttachmentStore};
#[cfg(target_arch = "wasm32")]
pub use crate::indexeddb::{DataLoss, IndexedDbAttachmentManifest, IndexedDbAttachmentStore};

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
