//! An attachment's bytes (or a range of them) as a backend hands them out for `getBlob` and
//! `getStream`, without holding them all: a `Blob` the engine reads only when asked (IndexedDB's
//! Blob layout), or chunks read one at a time on demand (chunked layouts, Durable Objects, memory).

use async_trait::async_trait;
use js_sys::{ArrayBuffer, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::error::{AttachmentStoreError, Result};

/// Chunks read one at a time: each call reads (at most) one stored chunk, so memory stays bounded
/// whatever the attachment's size. Dropping the source mid-way leaves nothing in flight.
#[async_trait(?Send)]
pub trait ChunkSource {
    /// The next chunk, or `None` at the end.
    async fn next_chunk(&mut self) -> Result<Option<Uint8Array>>;
}

/// Bytes still in JavaScript: an exact-length buffer no one else holds, or a `Blob` (a File, or
/// what a stream was gathered into), which the engines keep outside the page's memory.
pub enum Bytes {
    /// An exact-length `ArrayBuffer`.
    Buffer(js_sys::ArrayBuffer),
    /// A Blob of the bytes.
    Blob(web_sys::Blob),
}

impl Bytes {
    /// How many bytes.
    pub fn byte_len(&self) -> u64 {
        match self {
            Self::Buffer(buffer) => u64::from(buffer.byte_length()),
            Self::Blob(blob) => blob.size() as u64,
        }
    }
}

/// Bytes handed out.
pub enum Body {
    /// A `Blob` of exactly the bytes asked for (its `type` set), read when the caller reads it.
    Blob(web_sys::Blob),
    /// Chunks of exactly the bytes asked for, in order.
    Chunks(Box<dyn ChunkSource>),
}

/// The chunks of bytes already in JavaScript, `piece` bytes at a time (copied out of `bytes` one
/// piece per call).
pub(crate) struct ViewChunks {
    bytes: Uint8Array,
    at: u32,
    piece: u32,
}

impl ViewChunks {
    pub(crate) fn new(bytes: Uint8Array, piece: u32) -> Self {
        Self { bytes, at: 0, piece: piece.max(1) }
    }
}

#[async_trait(?Send)]
impl ChunkSource for ViewChunks {
    async fn next_chunk(&mut self) -> Result<Option<Uint8Array>> {
        if self.at >= self.bytes.length() {
            return Ok(None);
        }
        let end = (self.at + self.piece).min(self.bytes.length());
        let chunk = self.bytes.slice(self.at, end);
        self.at = end;
        Ok(Some(chunk))
    }
}

/// A failed Blob operation, with the engine's error as cause.
fn blob_error(cause: JsValue, doing: &str) -> AttachmentStoreError {
    let text = |name: &str| Reflect::get(&cause, &name.into()).ok().and_then(|value| value.as_string()).unwrap_or_default();
    AttachmentStoreError::backend(format!("{doing} failed: {}: {}", text("name"), text("message"))).with_js_cause(cause)
}

/// A Blob's bytes, read whole (one `arrayBuffer()`: reading a large Blob in slices fails in
/// Chromium where its stream and one whole read do not).
pub(crate) async fn read_blob(blob: &web_sys::Blob) -> Result<ArrayBuffer> {
    let read = JsFuture::from(blob.array_buffer()).await.map_err(|error| blob_error(error, "reading a Blob"))?;
    Ok(read.unchecked_into())
}

/// A Blob of `parts` (buffers, views or Blobs) with media type `media_type` (empty: none).
pub(crate) fn blob_of(parts: &[JsValue], media_type: &str) -> Result<web_sys::Blob> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let parts: js_sys::Array = parts.iter().collect();
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|error| blob_error(error, "making a Blob"))
}

/// A caller's `ReadableStream<Uint8Array>` read one chunk per call (for backends that store a
/// stream as it arrives: Durable Objects). Dropping it cancels the stream.
#[cfg(feature = "durable-object")]
pub(crate) struct StreamChunks {
    reader: web_sys::ReadableStreamDefaultReader,
    done: bool,
}

#[cfg(feature = "durable-object")]
impl StreamChunks {
    pub(crate) fn new(stream: &web_sys::ReadableStream) -> Self {
        Self { reader: stream.get_reader().unchecked_into(), done: false }
    }
}

#[cfg(feature = "durable-object")]
#[async_trait(?Send)]
impl ChunkSource for StreamChunks {
    async fn next_chunk(&mut self) -> Result<Option<Uint8Array>> {
        if self.done {
            return Ok(None);
        }
        let read = JsFuture::from(self.reader.read()).await.map_err(|error| blob_error(error, "reading the stream"))?;
        if Reflect::get(&read, &"done".into()).ok().is_some_and(|done| done.is_truthy()) {
            self.done = true;
            return Ok(None);
        }
        let value = Reflect::get(&read, &"value".into()).unwrap_or_default();
        match value.dyn_into::<Uint8Array>() {
            // An enqueued chunk is the reader's: no copy needed.
            Ok(chunk) => Ok(Some(chunk)),
            Err(_) => Err(AttachmentStoreError::invalid_input("the stream must yield Uint8Array chunks")),
        }
    }
}

#[cfg(feature = "durable-object")]
impl Drop for StreamChunks {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.reader.cancel();
        }
    }
}
