//! JavaScript errors from IndexedDB mapped to the contract's codes: the only place that decides.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::core::error::{AttachmentStoreError, ErrorCode};

/// The cause given for a transaction the engine aborted without saying why (its `error` is
/// `null`): what WebKit does when the disk is full.
pub(crate) const ABORTED_WITHOUT_REASON: &str = "AbortedWithoutReason";

/// Whether an engine's message says the disk (or the engine's own files) ran out of space, however
/// it says it: Chromium `FILE_ERROR_NO_SPACE` (small values), `Failed to write blobs` (large ones).
fn says_no_space(message: &str) -> bool {
    ["NO_SPACE", "No space", "no space", "Failed to write blobs", "disk is full", "Disk full"].iter().any(|words| message.contains(words))
}

/// Whether an engine's message says the connection to its storage is gone: WebKit when its storage
/// process dies, Chromium after a full disk ("The database connection is closing").
fn says_connection_lost(name: &str, message: &str) -> bool {
    message.contains("Connection to Indexed Database server lost") || message.contains("connection is closing") || (name == "InvalidStateError" && message.contains("did not allow mutations"))
}

/// The error for a failed IndexedDB call while `doing` something, keeping the original value as
/// its cause. Every engine's way of saying a thing is mapped here, and nowhere else:
///
/// - a full quota or disk, as any engine reports it, is `QuotaExceeded`: `QuotaExceededError`
///   (Chromium, Firefox), `DataError: Failed to write blobs (IOError)` and `UnknownError ...
///   FILE_ERROR_NO_SPACE` (Chromium, a full disk), an abort without a reason (WebKit);
/// - data the engine says it lost (`NotReadableError`: Chromium, a stored Blob whose file is gone)
///   is `Corrupt`;
/// - a value that cannot be stored (`DataCloneError`: a session state with a function in it) is
///   `InvalidInput`;
/// - anything else is `Backend`, a lost connection included ([`recovery`] says to reopen; only
///   when that keeps failing does the caller see it). `Closed` is never the engine's to say: it
///   comes from `close()` and another connection's `versionchange`, checked before every call.
pub(crate) fn js_error(cause: JsValue, doing: &str) -> AttachmentStoreError {
    let (name, detail) = describe(&cause);
    let code = match name.as_str() {
        "QuotaExceededError" | ABORTED_WITHOUT_REASON => ErrorCode::QuotaExceeded,
        _ if says_no_space(&detail) => ErrorCode::QuotaExceeded,
        "NotReadableError" => ErrorCode::Corrupt,
        "DataCloneError" => ErrorCode::InvalidInput,
        _ => ErrorCode::Backend,
    };
    let hint = match name.as_str() {
        "VersionError" => " (the database was created by a newer version of web-attachments)",
        "TransactionInactiveError" => " (a transaction body awaited something other than its own requests)",
        "DataCloneError" => " (the value is not structured-cloneable; nothing was written)",
        ABORTED_WITHOUT_REASON => " (the engine gave no reason: WebKit does so when the disk is full; nothing was written)",
        "NotReadableError" => " (the engine lost this data: see store.verify())",
        "QuotaExceededError" => " (the storage quota or the disk is full; nothing was written)",
        _ if code == ErrorCode::QuotaExceeded => " (the disk is full; nothing was written)",
        _ => "",
    };
    let message = if detail.is_empty() { format!("IndexedDB failed {doing}: {name}{hint}") } else { format!("IndexedDB failed {doing}: {name}: {detail}{hint}") };
    AttachmentStoreError::new(code, message).with_js_cause(cause)
}

/// `error` met right after a write was refused for space: WebKit then reports the next writes as
/// `UnknownError: Unable to store record in object store` (measured on a full disk), which is
/// the same full disk, so it becomes `QuotaExceeded` (and is not retried as a lost connection).
pub(crate) fn while_out_of_space(error: AttachmentStoreError) -> AttachmentStoreError {
    let Some(cause) = error.js_cause() else { return error };
    let (name, detail) = describe(cause);
    if name == "UnknownError" && detail.contains("Unable to store record") {
        let cause = cause.clone();
        AttachmentStoreError::new(ErrorCode::QuotaExceeded, format!("{} (the disk is still full; nothing was written)", error.message())).with_js_cause(cause)
    } else {
        error
    }
}

/// The error for a lost connection that `tries` reopens could not bring back (`last` is the last
/// open's error): `QuotaExceeded` when the disk was full (Chromium cannot open a database on a
/// full disk), else `Backend`, saying that the call's write may have landed when WebKit refuses
/// to reconnect the page ("Refresh the page to try again", after its storage process died).
pub(crate) fn reopen_failed(last: Option<AttachmentStoreError>, tries: usize, out_of_space: bool) -> AttachmentStoreError {
    let detail = last.as_ref().map(|error| error.message().to_owned()).unwrap_or_default();
    let (code, message) = if out_of_space {
        (ErrorCode::QuotaExceeded, format!("the disk is full: the engine closed the connection and cannot reopen it until space is freed ({tries} tries: {detail})"))
    } else if detail.contains("Refresh the page") {
        (ErrorCode::Backend, format!("the engine lost its storage process and will not reconnect this page until it reloads; this call's write may have landed (its outcome is unknown): reload, then read to find out ({tries} tries: {detail})"))
    } else {
        (ErrorCode::Backend, format!("the connection to the database was lost and could not be reopened after {tries} tries: {detail}"))
    };
    let error = AttachmentStoreError::new(code, message);
    match last.and_then(|last| last.js_cause().cloned()) {
        Some(cause) => error.with_js_cause(cause),
        None => error,
    }
}

/// What to do after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// Report it.
    Report,
    /// The connection is lost (or the write's outcome unknown with it): reopen and run again.
    Reopen,
}

/// Whether `error` is a lost connection the operation should be retried through (see
/// [`js_error`]): `InvalidStateError` while our connection is open (Chromium's "connection is
/// closing" after a full disk, Firefox's one refused write after a full quota), WebKit's "Connection
/// to Indexed Database server lost", and an `UnknownError` that is not a full disk (WebKit aborts
/// with one when its storage process dies, whether or not the transaction committed).
pub(crate) fn recovery(error: &AttachmentStoreError) -> Recovery {
    let Some(cause) = error.js_cause() else { return Recovery::Report };
    let (name, detail) = describe(cause);
    let lost = says_connection_lost(&name, &detail) || name == "InvalidStateError" || (name == "UnknownError" && !says_no_space(&detail));
    if lost && error.code() != ErrorCode::QuotaExceeded {
        Recovery::Reopen
    } else {
        Recovery::Report
    }
}

/// An engine's error as `(name, message)`.
fn describe(cause: &JsValue) -> (String, String) {
    let field = |name: &str| Reflect::get(cause, &JsValue::from_str(name)).ok().and_then(|value| value.as_string());
    let name = field("name").or_else(|| cause.as_string()).unwrap_or_else(|| "Error".to_owned());
    (name, field("message").unwrap_or_default())
}
