//! Test-only exports (features `testing` and `durable-object`): the Rust conformance suite run
//! inside a JavaScript runtime against a Durable Object's real storage (used by the workerd tests).

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::durable_object::{DurableObjectAttachmentManifest, DurableObjectAttachmentStore};
use crate::testing::conformance::{run_all, ConformanceHarness};
use crate::{Result, SessionScopedAttachmentStore};

/// Each check gets a fresh prefix in the same storage; reopening makes a new store over it.
struct DurableObjectHarness {
    storage: JsValue,
    run: String,
    checks: u32,
    prefix: String,
}

impl DurableObjectHarness {
    fn fresh_prefix(&mut self) -> String {
        self.checks += 1;
        self.prefix = format!("conformance-{}-{}/", self.run, self.checks);
        self.prefix.clone()
    }
}

#[async_trait::async_trait(?Send)]
impl ConformanceHarness for DurableObjectHarness {
    type Store = DurableObjectAttachmentStore;
    type Manifest = DurableObjectAttachmentManifest;

    async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)> {
        let store = DurableObjectAttachmentStore::new(self.storage.clone(), &self.fresh_prefix())?;
        let manifest = store.manifest();
        Ok((store, manifest))
    }

    async fn reopen(&mut self, store: Self::Store, _: Self::Manifest) -> Result<Option<(Self::Store, Self::Manifest)>> {
        store.close();
        let store = DurableObjectAttachmentStore::new(self.storage.clone(), &self.prefix)?;
        let manifest = store.manifest();
        Ok(Some((store, manifest)))
    }

    fn close(&self, store: &Self::Store, _: &Self::Manifest) {
        store.close();
    }
}

struct SessionHarness(DurableObjectHarness);

#[async_trait::async_trait(?Send)]
impl ConformanceHarness for SessionHarness {
    type Store = SessionScopedAttachmentStore<DurableObjectAttachmentStore, DurableObjectAttachmentManifest>;
    type Manifest = DurableObjectAttachmentManifest;

    async fn fresh(&mut self) -> Result<(Self::Store, Self::Manifest)> {
        let (store, manifest) = self.0.fresh().await?;
        Ok((store.session("conformance")?, manifest))
    }

    async fn reopen(&mut self, store: Self::Store, manifest: Self::Manifest) -> Result<Option<(Self::Store, Self::Manifest)>> {
        let reopened = self.0.reopen(store.inner().clone(), manifest).await?;
        reopened.map(|(store, manifest)| Ok((store.session("conformance")?, manifest))).transpose()
    }

    fn close(&self, store: &Self::Store, _: &Self::Manifest) {
        store.inner().close();
    }
}

/// Runs the conformance suite on `storage`, plain and session-scoped. A failing check panics
/// (its message goes to the console through the panic hook set here).
#[wasm_bindgen(js_name = __runDurableObjectConformance)]
pub fn run_durable_object_conformance(storage: JsValue) -> Promise {
    std::panic::set_hook(Box::new(|info| web_sys_console_error(&info.to_string())));
    // On the same executor as every export, so the suite runs it against Durable Object storage.
    super::task::spawn(Box::pin(async move {
        let run = format!("{}", js_sys::Date::now() as u64);
        let harness = DurableObjectHarness { storage, run, checks: 0, prefix: String::new() };
        let mut session = SessionHarness(harness);
        run_all(&mut session.0).await;
        run_all(&mut session).await;
        Ok(JsValue::from_str("conformance passed"))
    }))
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn web_sys_console_error(message: &str);
}
