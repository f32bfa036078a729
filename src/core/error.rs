//! The one error type of the crate, with the contract's error codes.
//!
//! Backends build these through the constructors here (and, for IndexedDB, through
//! `indexeddb::error_map`), so every code means the same thing everywhere.

use std::fmt;

use super::id::AttachmentId;

/// Why an operation failed: the contract's closed set of codes, stable across releases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The id names no stored attachment (malformed ids included, for `get`).
    NotFound,
    /// Bytes exist but their metadata row does not (a torn write from an older version or by hand).
    MissingMeta,
    /// A stored metadata or manifest row could not be decoded.
    MetadataDecode,
    /// The write-ahead intent could not be recorded, so the bytes were not written.
    ManifestRecordFailed,
    /// The storage quota was exceeded; nothing of the failed write was kept.
    QuotaExceeded,
    /// A caller passed a bad argument (malformed media type, wrong type from JavaScript, ...).
    InvalidInput,
    /// The store was closed (by `close()` or because another connection upgraded the database).
    Closed,
    /// Any other failure of the underlying storage.
    Backend,
    /// Stored bytes are damaged: they do not hash to their id, or the engine reports their data
    /// lost. `store.verify()` finds and removes such attachments; a re-put of the content heals one.
    Corrupt,
}

impl ErrorCode {
    /// The code's contract name (`"NotFound"`, ...), as JavaScript sees it in `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "NotFound",
            Self::MissingMeta => "MissingMeta",
            Self::MetadataDecode => "MetadataDecode",
            Self::ManifestRecordFailed => "ManifestRecordFailed",
            Self::QuotaExceeded => "QuotaExceeded",
            Self::InvalidInput => "InvalidInput",
            Self::Closed => "Closed",
            Self::Backend => "Backend",
            Self::Corrupt => "Corrupt",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed store, manifest or sweep operation.
#[derive(Clone)]
pub struct AttachmentStoreError {
    code: ErrorCode,
    message: String,
    /// The attachments the error is about, where it names some (a commit's missing ids).
    ids: Vec<AttachmentId>,
    /// The underlying JavaScript value (usually a `DOMException`), kept for `error.cause`.
    #[cfg(target_arch = "wasm32")]
    js_cause: Option<wasm_bindgen::JsValue>,
}

impl AttachmentStoreError {
    /// An error with `code` and a human-readable `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            ids: Vec::new(),
            #[cfg(target_arch = "wasm32")]
            js_cause: None,
        }
    }

    /// `NotFound` for a commit that found `ids` gone (their row forgotten or their bytes deleted):
    /// nothing was written, and the ids stay pending.
    pub fn missing(ids: Vec<AttachmentId>) -> Self {
        let listed: Vec<&str> = ids.iter().take(3).map(AttachmentId::as_str).collect();
        let more = if ids.len() > 3 { format!(" and {} more", ids.len() - 3) } else { String::new() };
        let message = format!(
            "nothing was committed: {} of the session's attachments {} gone ({}{more}); put them again or discard them, then commit again",
            ids.len(),
            if ids.len() == 1 { "is" } else { "are" },
            listed.join(", ")
        );
        Self { ids, ..Self::new(ErrorCode::NotFound, message) }
    }

    /// `NotFound` for `id`.
    pub fn not_found(id: impl fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("no attachment {id}"))
    }

    /// `InvalidInput` with `message`.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// `Closed`.
    pub fn closed() -> Self {
        Self::new(ErrorCode::Closed, "the attachment store is closed")
    }

    /// `Backend` with `message`.
    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Backend, message)
    }

    /// The same error with another code, keeping message and cause; used where the step that
    /// failed decides the code (a failed intent write is `ManifestRecordFailed`).
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    /// The same error with `context: ` before its message.
    pub fn context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The contract's code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// What went wrong, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The attachments this error names (a rejected commit's missing ids); empty otherwise.
    pub fn ids(&self) -> &[AttachmentId] {
        &self.ids
    }

    /// Attaches the JavaScript value that caused this error.
    #[cfg(target_arch = "wasm32")]
    pub fn with_js_cause(mut self, cause: wasm_bindgen::JsValue) -> Self {
        self.js_cause = Some(cause);
        self
    }

    /// The JavaScript value that caused this error, if any (a `DOMException` from IndexedDB).
    #[cfg(target_arch = "wasm32")]
    pub fn js_cause(&self) -> Option<&wasm_bindgen::JsValue> {
        self.js_cause.as_ref()
    }
}

impl fmt::Debug for AttachmentStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentStoreError")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("ids", &self.ids)
            .finish()
    }
}

impl fmt::Display for AttachmentStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AttachmentStoreError {}

/// Shorthand for results of this crate.
pub type Result<T, E = AttachmentStoreError> = std::result::Result<T, E>;
