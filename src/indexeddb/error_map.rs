//! JavaScript errors from IndexedDB mapped to the contract's codes: the only place that decides.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::error::{AttachmentStoreError, ErrorCode};

/// The error for a failed IndexedDB call while `doing` something, keeping the original value as
/// its cause.
///
/// - `QuotaExceededError` (from a request or the aborted transaction): `QuotaExceeded`.
/// - `InvalidStateError`: the connection is closed (the only way our calls can meet it): `Closed`.
/// - `DataCloneError`: a value given to be stored cannot be (a session state with a function in
///   it): `InvalidInput`.
/// - anything else (`UnknownError`, `AbortError`, `VersionError`, ...): `Backend`.
pub(crate) fn js_error(cause: JsValue, doing: &str) -> AttachmentStoreError {
    let field = |name: &str| Reflect::get(&cause, &JsValue::from_str(name)).ok().and_then(|value| value.as_string());
    let name = field("name").or_else(|| cause.as_string()).unwrap_or_else(|| "Error".to_owned());
    let detail = field("message").filter(|message| !message.is_empty());
    let code = match name.as_str() {
        "QuotaExceededError" => ErrorCode::QuotaExceeded,
        "InvalidStateError" => ErrorCode::Closed,
        "DataCloneError" => ErrorCode::InvalidInput,
        _ => ErrorCode::Backend,
    };
    let hint = match name.as_str() {
        "VersionError" => " (the database was created by a newer version of web-attachments)",
        "TransactionInactiveError" => " (a transaction body awaited something other than its own requests)",
        "DataCloneError" => " (the value is not structured-cloneable; nothing was written)",
        _ => "",
    };
    let message = match detail {
        Some(detail) => format!("IndexedDB failed {doing}: {name}: {detail}{hint}"),
        None => format!("IndexedDB failed {doing}: {name}{hint}"),
    };
    AttachmentStoreError::new(code, message).with_js_cause(cause)
}
