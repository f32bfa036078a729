//! Checking and converting what JavaScript passes in, and building what it gets back. Every
//! argument arrives as a `JsValue`, so a wrong type is an `InvalidInput` rejection, never a trap.

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::{AttachmentId, ContentHasher};
use crate::core::manifest_rules::validate_session_id;
use crate::core::meta::AttachmentMeta;
// Reading plain values is shared with the backends' row decoding.
pub(crate) use crate::records::{epoch_ms, expect_object, field, string, type_name};
use crate::records::ToJs;

fn invalid(message: impl Into<String>) -> AttachmentStoreError {
    AttachmentStoreError::invalid_input(message)
}

/// An id argument: a string; `Ok(None)` when the string names nothing (malformed), which lookups
/// treat as "not found" and deletes as "nothing to do".
pub(crate) fn id_lookup(value: &JsValue) -> Result<Option<AttachmentId>> {
    Ok(AttachmentId::parse(&string(value, "the attachment id")?).ok())
}

/// An id argument that must be well formed (manifest writes).
pub(crate) fn id_strict(value: &JsValue, what: &str) -> Result<AttachmentId> {
    AttachmentId::parse(&string(value, what)?)
}

pub(crate) fn session_id(value: &JsValue) -> Result<String> {
    let session_id = string(value, "sessionId")?;
    validate_session_id(&session_id)?;
    Ok(session_id)
}

/// An array argument.
pub(crate) fn array(value: &JsValue, what: &str) -> Result<Array> {
    if Array::is_array(value) {
        Ok(value.clone().unchecked_into())
    } else {
        Err(invalid(format!("{what} must be an array, got {}", type_name(value))))
    }
}

/// An array of well-formed ids.
pub(crate) fn id_list(value: &JsValue) -> Result<Vec<AttachmentId>> {
    if !Array::is_array(value) {
        return Err(invalid(format!("ids must be an array of attachment ids, got {}", type_name(value))));
    }
    value.unchecked_ref::<Array>().iter().map(|id| id_strict(&id, "each id")).collect()
}

/// Bytes from JavaScript, copied out of the caller's hands (later mutation changes nothing) and
/// hashed; they stay a JavaScript buffer, entering wasm only chunk by chunk for the hash.
pub(crate) struct JsBytes {
    /// SHA-256 of the bytes.
    pub id: AttachmentId,
    /// An exact-length buffer no one else holds.
    pub buffer: ArrayBuffer,
}

/// How much of a buffer is copied into wasm at a time for hashing: wasm memory stays bounded
/// whatever the attachment's size.
const HASH_CHUNK: u32 = 1 << 20;

impl JsBytes {
    /// `Uint8Array | ArrayBuffer | Blob`.
    pub(crate) async fn read(value: &JsValue) -> Result<Self> {
        let buffer = if let Some(view) = value.dyn_ref::<Uint8Array>() {
            view.slice(0, view.length()).buffer()
        } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
            buffer.slice(0)
        } else if let Some(blob) = value.dyn_ref::<web_sys::Blob>() {
            let read = JsFuture::from(blob.array_buffer()).await.map_err(|e| super::error::from_thrown(e, "reading the Blob"))?;
            read.unchecked_into()
        } else {
            return Err(invalid(format!("bytes must be a Uint8Array, an ArrayBuffer or a Blob, got {}", type_name(value))));
        };
        Ok(Self { id: hash_js_buffer(&buffer).await?, buffer })
    }

    /// The bytes as a view (no copy).
    pub(crate) fn view(&self) -> Uint8Array {
        Uint8Array::new(&self.buffer)
    }

    /// The bytes copied into wasm (for stores that keep them there).
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.view().to_vec()
    }
}

/// From this size on, WebCrypto's native SHA-256 beats hashing in wasm despite its async hop.
const WEB_CRYPTO_FROM_BYTES: u32 = 64 * 1024;

/// SHA-256 of a JavaScript buffer: by WebCrypto where that is faster and available, else in wasm.
pub(crate) async fn hash_js_buffer(buffer: &ArrayBuffer) -> Result<AttachmentId> {
    match web_crypto_digest(buffer).await {
        Some(digest) => digest,
        None => Ok(hash_buffer(&Uint8Array::new(buffer))),
    }
}

/// SHA-256 by `crypto.subtle.digest` for large buffers where the runtime has it (browsers in
/// secure contexts, workers, workerd, Deno, Node); `None` means "hash in wasm".
async fn web_crypto_digest(buffer: &ArrayBuffer) -> Option<Result<AttachmentId>> {
    if buffer.byte_length() < WEB_CRYPTO_FROM_BYTES {
        return None;
    }
    let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    let digest: js_sys::Function = Reflect::get(&subtle, &"digest".into()).ok()?.dyn_into().ok()?;
    let promise: js_sys::Promise = digest.call2(&subtle, &"SHA-256".into(), buffer).ok()?.dyn_into().ok()?;
    Some(match JsFuture::from(promise).await {
        Ok(digest) => {
            let mut bytes = [0u8; 32];
            Uint8Array::new(&digest).copy_to(&mut bytes);
            Ok(AttachmentId::from_digest(bytes))
        }
        Err(error) => Err(super::error::from_thrown(error, "hashing with WebCrypto")),
    })
}

/// SHA-256 of a JavaScript byte view, copied into wasm one chunk at a time.
pub(crate) fn hash_buffer(view: &Uint8Array) -> AttachmentId {
    let mut hasher = ContentHasher::new();
    feed(&mut hasher, view, &mut Vec::new());
    hasher.finish()
}

/// Feeds `view` to `hasher` through `scratch`, at most [`HASH_CHUNK`] bytes at a time, so wasm
/// memory stays bounded whatever the size (reuse `scratch` across calls).
pub(crate) fn feed(hasher: &mut ContentHasher, view: &Uint8Array, scratch: &mut Vec<u8>) {
    let mut offset = 0;
    while offset < view.length() {
        let end = (offset + HASH_CHUNK).min(view.length());
        scratch.resize((end - offset) as usize, 0);
        view.subarray(offset, end).copy_to(scratch);
        hasher.update(scratch);
        offset = end;
    }
}

/// `{ meta, bytes }`.
pub(crate) fn stored(meta: &AttachmentMeta, bytes: &Uint8Array) -> JsValue {
    let object = Object::new();
    let _ = Reflect::set(&object, &wasm_bindgen::intern("meta").into(), &meta.to_js());
    let _ = Reflect::set(&object, &wasm_bindgen::intern("bytes").into(), bytes);
    object.into()
}
