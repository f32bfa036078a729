//! Failing storage operations on demand, as SQLite's tests do ("fail the Nth I/O"): for N = 1,
//! 2, 3, ... an operation runs with its Nth storage operation failing (once, or that one and every
//! one after it), and the test checks that the data is as it was before the operation or as it is
//! after it, never in between.
//!
//! The memory backend counts its storage operations through a [`FaultInjector`]
//! ([`crate::InMemoryAttachmentStore::with_faults`]), so the rules above every backend (sessions,
//! commits, releases, the sweep) can be checked against faults natively.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::core::error::{AttachmentStoreError, Result};

/// Counts storage operations and fails the ones it is told to.
#[derive(Debug, Default)]
pub struct FaultInjector {
    operations: AtomicU64,
    /// The operation number that fails first (counted from 1); 0: none.
    fail_at: AtomicU64,
    forever: AtomicBool,
}

impl FaultInjector {
    /// The message of an injected failure (code `Backend`).
    pub const MESSAGE: &'static str = "injected storage fault";

    /// An injector that fails nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the `n`th storage operation from now (1: the next one), and with `forever` every one
    /// after it too, until [`Self::disarm`].
    pub fn fail_nth(&self, n: u64, forever: bool) {
        self.forever.store(forever, Ordering::SeqCst);
        self.fail_at.store(self.operations.load(Ordering::SeqCst) + n.max(1), Ordering::SeqCst);
    }

    /// Fails nothing from now on.
    pub fn disarm(&self) {
        self.fail_at.store(0, Ordering::SeqCst);
    }

    /// How many storage operations have run (failed ones included).
    pub fn operations(&self) -> u64 {
        self.operations.load(Ordering::SeqCst)
    }

    /// Called by a backend before each storage operation.
    pub(crate) fn before_operation(&self) -> Result<()> {
        let number = self.operations.fetch_add(1, Ordering::SeqCst) + 1;
        let fail_at = self.fail_at.load(Ordering::SeqCst);
        let fails = fail_at != 0 && (number == fail_at || (number > fail_at && self.forever.load(Ordering::SeqCst)));
        if fails {
            Err(AttachmentStoreError::backend(Self::MESSAGE))
        } else {
            Ok(())
        }
    }
}
