//! The Durable Object classes, in the workerd build only (feature `durable-object`): browsers
//! would download their code for nothing.

// The member macros expand to calls of the shared operations in the parent module.
use super::*;

/// A durable store in a Cloudflare Durable Object's storage (`ctx.storage`), with its manifest.
#[wasm_bindgen]
pub struct DurableObjectAttachmentStore {
    store: crate::durable_object::DurableObjectAttachmentStore,
    views: Views,
}

#[wasm_bindgen]
impl DurableObjectAttachmentStore {
    /// A store over `storage`; `options.prefix` keeps several stores apart in one object.
    #[wasm_bindgen(constructor)]
    pub fn new(storage: JsValue, options: JsValue) -> std::result::Result<DurableObjectAttachmentStore, JsValue> {
        thrown((|| {
            let mut prefix = String::new();
            if !(options.is_undefined() || options.is_null()) {
                convert::expect_object(&options, &"options")?;
                let given = convert::field(&options, "prefix")?;
                if !given.is_undefined() {
                    prefix = convert::string(&given, &"options.prefix")?;
                }
            }
            Ok(Self { store: crate::durable_object::DurableObjectAttachmentStore::new(storage, &prefix)?, views: Views::default() })
        })())
    }

    /// The manifest in the same storage (the same object on every access).
    #[wasm_bindgen(getter)]
    pub fn manifest(&self) -> JsValue {
        self.views.manifest(|| DurableObjectAttachmentManifest { manifest: self.store.manifest() }.into())
    }

    /// The session-scoped view of `sessionId` (the same object on every call): intent and bytes in
    /// one storage transaction per put.
    pub fn session(&self, session_id: JsValue) -> std::result::Result<JsValue, JsValue> {
        thrown(self.views.session(&session_id, self.any(), self.any_manifest()))
    }

    fn any(&self) -> AnyStore {
        AnyStore::DurableObject(self.store.clone())
    }

    fn any_manifest(&self) -> AnyManifest {
        AnyManifest::DurableObject(self.store.manifest())
    }
}

store_members!(DurableObjectAttachmentStore, "DurableObjectAttachmentStore");

/// The manifest in a Durable Object store's storage (`store.manifest`).
#[wasm_bindgen]
pub struct DurableObjectAttachmentManifest {
    manifest: crate::durable_object::DurableObjectAttachmentManifest,
}

impl DurableObjectAttachmentManifest {
    fn any(&self) -> AnyManifest {
        AnyManifest::DurableObject(self.manifest.clone())
    }
}

manifest_members!(DurableObjectAttachmentManifest, "DurableObjectAttachmentManifest");
