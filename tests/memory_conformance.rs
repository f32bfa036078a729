//! The conformance suite over the memory backend, plain and wrapped in a session-scoped store.
#![cfg(not(target_arch = "wasm32"))]

use web_attachments::testing::conformance::{run_all, ConformanceHarness};
use web_attachments::{InMemoryAttachmentManifest, InMemoryAttachmentStore, Result, SessionScopedAttachmentStore};

struct Memory;

#[async_trait::async_trait(?Send)]
impl ConformanceHarness for Memory {
    type Store = InMemoryAttachmentStore;
    type Manifest = InMemoryAttachmentManifest;

    async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)> {
        let store = InMemoryAttachmentStore::new();
        let manifest = store.manifest();
        Ok((store, manifest))
    }

    async fn reopen(&mut self, _: Self::Store, _: Self::Manifest) -> Result<Option<(Self::Store, Self::Manifest)>> {
        Ok(None)
    }

    fn close(&self, store: &Self::Store, manifest: &Self::Manifest) {
        store.close();
        manifest.close();
    }
}

/// The session-scoped wrapper must behave as a store in its own right.
struct SessionOverMemory;

type SessionStore = SessionScopedAttachmentStore<InMemoryAttachmentStore, InMemoryAttachmentManifest>;

#[async_trait::async_trait(?Send)]
impl ConformanceHarness for SessionOverMemory {
    type Store = SessionStore;
    type Manifest = InMemoryAttachmentManifest;

    async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)> {
        let store = InMemoryAttachmentStore::new();
        Ok((store.session("conformance")?, store.manifest()))
    }

    async fn reopen(&mut self, _: Self::Store, _: Self::Manifest) -> Result<Option<(Self::Store, Self::Manifest)>> {
        Ok(None)
    }

    fn close(&self, store: &Self::Store, manifest: &Self::Manifest) {
        store.inner().close();
        manifest.close();
    }
}

#[test]
fn memory_store_conforms() {
    futures::executor::block_on(run_all(&mut Memory));
}

#[test]
fn session_scoped_memory_store_conforms() {
    futures::executor::block_on(run_all(&mut SessionOverMemory));
}

#[test]
fn session_needs_a_session_id() {
    let store = InMemoryAttachmentStore::new();
    let error = store.session("").err().expect("empty session id rejected");
    assert_eq!(error.code(), web_attachments::ErrorCode::InvalidInput);
}
