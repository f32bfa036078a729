//! An attachment's bytes (or a range of them) as a backend hands them out for `getBlob` and
//! `getStream`, without holding them all: a `Blob` the engine reads only when asked (IndexedDB's
//! Blob layout), or chunks read one at a time on demand (chunked layouts, Durable Objects, memory).

use async_trait::async_trait;
use js_sys::{ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::{AttachmentId, ContentHasher};

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

/// A failed Blob or stream operation, with the engine's error as cause: `Corrupt` when the engine
/// says the data is lost (`NotReadableError`: Chromium, a stored Blob whose file is gone), else
/// `Backend`.
fn blob_error(cause: JsValue, doing: &str) -> AttachmentStoreError {
    let text = |name: &str| Reflect::get(&cause, &name.into()).ok().and_then(|value| value.as_string()).unwrap_or_default();
    let code = if text("name") == "NotReadableError" { crate::ErrorCode::Corrupt } else { crate::ErrorCode::Backend };
    AttachmentStoreError::new(code, format!("{doing} failed: {}: {}", text("name"), text("message"))).with_js_cause(cause)
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

// ---- hashing bytes that are in JavaScript ----------------------------------------------------

/// How much of a buffer is copied into wasm at a time for hashing: wasm memory stays bounded
/// whatever the attachment's size.
const HASH_CHUNK: u32 = 1 << 20;

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
        Err(error) => Err(blob_error(error, "hashing with WebCrypto")),
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


// ---- reading streams, hashing as they pass ---------------------------------------------------

/// How long hashing may hold the main thread before it lets the page run (a task over 50 ms is
/// a "long task": the page stutters).
const SLICE_MS: f64 = 25.0;

/// Lets the page run before going on: `scheduler.yield()` where the engine has it, else a message
/// to ourselves (a task, unclamped: nested `setTimeout(0)` waits 4 ms). A stream with data queued
/// answers reads in microtasks, which would hash a whole file in one task.
async fn next_task() {
    let global = js_sys::global();
    let scheduler = Reflect::get(&global, &"scheduler".into()).ok().filter(|scheduler| scheduler.is_object());
    let yielding = scheduler.as_ref().and_then(|scheduler| Reflect::get(scheduler, &"yield".into()).ok()).and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let promise = match (scheduler, yielding) {
        (Some(scheduler), Some(yielding)) => yielding.call0(&scheduler).ok().and_then(|p| p.dyn_into::<Promise>().ok()),
        _ => None,
    };
    let promise = promise.unwrap_or_else(|| {
        Promise::new(&mut |resolve, _| {
            match web_sys::MessageChannel::new() {
                Ok(channel) => {
                    channel.port1().set_onmessage(Some(&resolve));
                    let _ = channel.port2().post_message(&JsValue::UNDEFINED);
                }
                Err(_) => drop(resolve.call0(&JsValue::NULL)),
            }
        })
    });
    let _ = JsFuture::from(promise).await;
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `ReadableStream`, bound here for a `getReader(options)` that reports a refusal instead of
    /// throwing through wasm.
    #[wasm_bindgen(js_name = ReadableStream)]
    type MaybeByteStream;

    #[wasm_bindgen(method, catch, js_name = getReader)]
    fn try_get_reader(this: &MaybeByteStream, options: &web_sys::ReadableStreamGetReaderOptions) -> std::result::Result<JsValue, JsValue>;
}

/// How much a read of a byte stream (a Blob's) asks for at a time, into one reused buffer.
const READ_INTO: u32 = 1 << 20;

/// Calls `each` with every chunk of `stream` (which must yield `Uint8Array`s), in order, letting
/// the page run every [`SLICE_MS`]. A byte stream (a Blob's) is read into one reused buffer, so
/// reading makes no garbage and memory stays flat however large the Blob; others chunk by chunk.
/// On any failure the stream is cancelled, so its source stops.
pub(crate) async fn for_each_chunk(stream: &web_sys::ReadableStream, what: &str, mut each: impl FnMut(&Uint8Array) -> Result<()>) -> Result<()> {
    let options = web_sys::ReadableStreamGetReaderOptions::new();
    options.set_mode(web_sys::ReadableStreamReaderMode::Byob);
    // Only byte streams have BYOB readers; asking another throws (caught, not trapped).
    let byob = stream.unchecked_ref::<MaybeByteStream>().try_get_reader(&options).ok().map(|reader| reader.unchecked_into::<web_sys::ReadableStreamByobReader>());
    let default = match &byob {
        Some(_) => None,
        None => Some(stream.get_reader().unchecked_into::<web_sys::ReadableStreamDefaultReader>()),
    };
    let mut buffer = js_sys::ArrayBuffer::new(READ_INTO);
    let mut slice_started = js_sys::Date::now();
    let outcome: Result<()> = async {
        loop {
            if js_sys::Date::now() - slice_started > SLICE_MS {
                next_task().await;
                slice_started = js_sys::Date::now();
            }
            let pending = match (&byob, &default) {
                (Some(reader), _) => reader.read_with_array_buffer_view(&Uint8Array::new(&buffer)),
                (None, Some(reader)) => reader.read(),
                (None, None) => return Err(AttachmentStoreError::backend("no reader")),
            };
            let read = JsFuture::from(pending).await.map_err(|error| blob_error(error, &format!("reading {what}")))?;
            let value = Reflect::get(&read, &"value".into()).unwrap_or_default();
            if Reflect::get(&read, &"done".into()).ok().is_some_and(|done| done.is_truthy()) {
                return Ok(());
            }
            let chunk = value
                .dyn_ref::<Uint8Array>()
                .ok_or_else(|| AttachmentStoreError::invalid_input(format!("{what} must yield Uint8Array chunks, got {}", crate::records::describe_value(&value))))?;
            each(chunk)?;
            if byob.is_some() {
                // The read moved the buffer into the filled view: take it back for the next read.
                buffer = chunk.buffer();
            }
        }
    }
    .await;
    match (&byob, &default) {
        (Some(reader), _) => {
            if outcome.is_err() {
                let _ = reader.cancel();
            }
            reader.release_lock();
        }
        (None, Some(reader)) => {
            if outcome.is_err() {
                let _ = reader.cancel();
            }
            reader.release_lock();
        }
        (None, None) => {}
    }
    outcome
}

/// The SHA-256 of `stream`'s bytes and their length, fed to wasm a chunk at a time.
pub(crate) async fn hash_stream(stream: &web_sys::ReadableStream, what: &str) -> Result<(AttachmentId, u64)> {
    let mut hasher = ContentHasher::new();
    let mut scratch = Vec::new();
    for_each_chunk(stream, what, |chunk| {
        feed(&mut hasher, chunk, &mut scratch);
        Ok(())
    })
    .await?;
    let len = hasher.byte_len();
    Ok((hasher.finish(), len))
}


/// The id `body`'s bytes hash to, and how many there are: a Blob read through its stream (one
/// reused buffer), chunks as they come.
pub(crate) async fn hash_body(body: Body) -> Result<(AttachmentId, u64)> {
    match body {
        Body::Blob(blob) => hash_stream(&blob.stream(), "the stored Blob").await,
        Body::Chunks(mut chunks) => {
            let (mut hasher, mut scratch) = (ContentHasher::new(), Vec::new());
            while let Some(chunk) = chunks.next_chunk().await? {
                feed(&mut hasher, &chunk, &mut scratch);
            }
            let len = hasher.byte_len();
            Ok((hasher.finish(), len))
        }
    }
}

/// `Corrupt` for `id`, whose stored bytes do not hash to it (and were removed, so that a put of
/// the same content heals it).
pub(crate) fn damaged(id: &AttachmentId) -> AttachmentStoreError {
    AttachmentStoreError::new(
        crate::ErrorCode::Corrupt,
        format!("attachment {id}'s stored bytes do not hash to its id (the disk damaged them): they were removed, and a put of the same content heals it"),
    )
}

/// Whether a stored attachment read as `read` (its metadata and whole body) hashes to `id`, for
/// [`crate::AttachmentStore::is_intact`]: `false` also when the engine says its data is lost,
/// chunks are missing or its metadata cannot be decoded; `true` when it is gone (nothing to remove).
pub(crate) async fn body_is_intact(id: &AttachmentId, read: Result<(crate::core::meta::AttachmentMeta, Body)>) -> Result<bool> {
    let damage = |error: AttachmentStoreError| match error.code() {
        crate::ErrorCode::Corrupt | crate::ErrorCode::MetadataDecode | crate::ErrorCode::MissingMeta => Ok(false),
        crate::ErrorCode::NotFound => Ok(true),
        _ => Err(error),
    };
    let (meta, body) = match read {
        Ok(read) => read,
        Err(error) => return damage(error),
    };
    match hash_body(body).await {
        Ok((hashed, len)) => Ok(hashed == *id && len == meta.byte_len),
        Err(error) => damage(error),
    }
}

/// A stored attachment's chunks checked as they pass: once all are read, if they do not hash to
/// the id (or are not as long as its metadata says), the last read fails `Corrupt` instead of
/// ending, and the damaged bytes are removed (`on_damage`) so that a re-put heals them. What the
/// reader got before that is never vouched for: `verifyReads` says a stream errors at its end.
pub(crate) struct VerifiedChunks {
    inner: Box<dyn ChunkSource>,
    id: AttachmentId,
    byte_len: u64,
    hasher: ContentHasher,
    scratch: Vec<u8>,
    on_damage: Box<dyn crate::store::AttachmentStore>,
}

impl VerifiedChunks {
    /// `inner` must yield every byte of `id` (`byte_len` of them), from the first.
    pub(crate) fn new(inner: Box<dyn ChunkSource>, id: &AttachmentId, byte_len: u64, on_damage: Box<dyn crate::store::AttachmentStore>) -> Self {
        Self { inner, id: id.clone(), byte_len, hasher: ContentHasher::new(), scratch: Vec::new(), on_damage }
    }
}

#[async_trait(?Send)]
impl ChunkSource for VerifiedChunks {
    async fn next_chunk(&mut self) -> Result<Option<Uint8Array>> {
        match self.inner.next_chunk().await? {
            Some(chunk) => {
                feed(&mut self.hasher, &chunk, &mut self.scratch);
                Ok(Some(chunk))
            }
            None => {
                let hasher = std::mem::replace(&mut self.hasher, ContentHasher::new());
                let len = hasher.byte_len();
                if hasher.finish() == self.id && len == self.byte_len {
                    return Ok(None);
                }
                self.on_damage.drop_damaged(&self.id).await?;
                Err(damaged(&self.id))
            }
        }
    }
}
