//! The one crossing point for errors between Rust and JavaScript.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::core::error::{AttachmentStoreError, ErrorCode};

#[wasm_bindgen(raw_module = "../errors.js")]
extern "C" {
    #[wasm_bindgen(js_name = createAttachmentStoreError)]
    fn create_attachment_store_error(code: &str, message: &str, cause: &JsValue, ids: &JsValue) -> JsValue;
}

/// The JavaScript `AttachmentStoreError` for `error`, with its cause when it has one and the ids
/// it names (a rejected commit's missing ones) as `ids`.
pub(crate) fn to_js(error: AttachmentStoreError) -> JsValue {
    let cause = error.js_cause().cloned().unwrap_or(JsValue::UNDEFINED);
    let ids = if error.ids().is_empty() {
        JsValue::UNDEFINED
    } else {
        error.ids().iter().map(|id| JsValue::from_str(id.as_str())).collect::<js_sys::Array>().into()
    };
    create_attachment_store_error(error.code().as_str(), error.message(), &cause, &ids)
}

/// An error thrown by JavaScript code we called (a JS-implemented store, a callback): an
/// `AttachmentStoreError`-shaped value keeps its code, anything else is `Backend` with it as cause.
pub(crate) fn from_thrown(thrown: JsValue, doing: &str) -> AttachmentStoreError {
    let field = |name: &str| Reflect::get(&thrown, &JsValue::from_str(name)).ok().and_then(|value| value.as_string());
    let code = field("code").and_then(|code| ALL_CODES.iter().copied().find(|known| known.as_str() == code));
    let message = field("message").unwrap_or_else(|| thrown.as_string().unwrap_or_else(|| "a non-Error value was thrown".to_owned()));
    AttachmentStoreError::new(code.unwrap_or(ErrorCode::Backend), format!("{doing}: {message}")).with_js_cause(thrown)
}

const ALL_CODES: [ErrorCode; 9] = [
    ErrorCode::NotFound,
    ErrorCode::MissingMeta,
    ErrorCode::MetadataDecode,
    ErrorCode::ManifestRecordFailed,
    ErrorCode::QuotaExceeded,
    ErrorCode::InvalidInput,
    ErrorCode::Closed,
    ErrorCode::Backend,
    ErrorCode::Corrupt,
];
