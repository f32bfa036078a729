//! What a session saves with its commit: the app's own state that refers to the attachments,
//! landing in the same transaction as the commit's stamps (contract §8).

/// A session's saved state, opaque to the library. Backends store it beside the manifest and give
/// it back as it was given.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionState {
    /// Bytes (e.g. the conversation serialised by the caller): the form every backend keeps,
    /// natively too.
    Bytes(Vec<u8>),
    /// A JavaScript value as JavaScript callers give it: structured-cloneable on IndexedDB and
    /// memory, what Durable Object storage accepts there (wasm32 only).
    #[cfg(target_arch = "wasm32")]
    Js(wasm_bindgen::JsValue),
}

impl SessionState {
    /// A copy later changes to the caller's value cannot reach: what a backend that keeps values
    /// as they are (memory) stores and hands out. A JavaScript value is structured-cloned; one
    /// that cannot be is `InvalidInput`, as IndexedDB would refuse it.
    pub(crate) fn snapshot(&self) -> crate::Result<Self> {
        match self {
            Self::Bytes(bytes) => Ok(Self::Bytes(bytes.clone())),
            #[cfg(target_arch = "wasm32")]
            Self::Js(value) => structured_clone(value).map(Self::Js),
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn structured_clone(value: &wasm_bindgen::JsValue) -> crate::Result<wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let clone = js_sys::Reflect::get(&js_sys::global(), &"structuredClone".into())
        .ok()
        .and_then(|clone| clone.dyn_into::<js_sys::Function>().ok())
        .ok_or_else(|| crate::AttachmentStoreError::backend("structuredClone is not available in this JavaScript environment"))?;
    clone.call1(&wasm_bindgen::JsValue::UNDEFINED, value).map_err(|thrown| {
        crate::AttachmentStoreError::invalid_input("the session state is not structured-cloneable; nothing was written").with_js_cause(thrown)
    })
}
