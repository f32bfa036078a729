//! The memory backend: ephemeral, for tests, servers and runtimes without IndexedDB.

mod manifest;
mod store;

pub use manifest::InMemoryAttachmentManifest;
pub use store::InMemoryAttachmentStore;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::core::error::{AttachmentStoreError, Result};

/// A shared "closed" switch: `close()` on any handle closes them all.
#[derive(Clone, Debug, Default)]
struct Lifetime(Arc<AtomicBool>);

impl Lifetime {
    fn close(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn check_open(&self) -> Result<()> {
        if self.0.load(Ordering::SeqCst) {
            Err(AttachmentStoreError::closed())
        } else {
            Ok(())
        }
    }
}
