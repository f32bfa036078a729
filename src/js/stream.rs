//! Streams: reading the `ReadableStream`s and Blobs callers put (hashed as they are read, in
//! bounded memory), and handing attachments out as `ReadableStream`s pulled chunk by chunk.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use super::convert::describe_value;
use super::error::{from_thrown, to_js};
use crate::body::Body;
use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::{AttachmentId, ContentHasher};

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

#[wasm_bindgen]
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
            let read = JsFuture::from(pending).await.map_err(|error| from_thrown(error, &format!("reading {what}")))?;
            let value = Reflect::get(&read, &"value".into()).unwrap_or_default();
            if Reflect::get(&read, &"done".into()).ok().is_some_and(|done| done.is_truthy()) {
                return Ok(());
            }
            let chunk = value
                .dyn_ref::<Uint8Array>()
                .ok_or_else(|| AttachmentStoreError::invalid_input(format!("{what} must yield Uint8Array chunks, got {}", describe_value(&value))))?;
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
        super::convert::feed(&mut hasher, chunk, &mut scratch);
        Ok(())
    })
    .await?;
    let len = hasher.byte_len();
    Ok((hasher.finish(), len))
}

/// A caller's stream read to its end: hashed as it is read, and gathered into a Blob every
/// [`GATHER`] bytes, so the page holds at most that much of it (the engine keeps Blob data outside
/// the page, paging large ones to disk).
pub(crate) async fn gather_stream(stream: &web_sys::ReadableStream) -> Result<(AttachmentId, web_sys::Blob)> {
    const GATHER: u32 = 8 << 20;
    let mut hasher = ContentHasher::new();
    let mut scratch = Vec::new();
    let parts = js_sys::Array::new();
    let mut pending = 0u32;
    let mut gathered: Option<web_sys::Blob> = None;
    let fold = |gathered: &mut Option<web_sys::Blob>, parts: &js_sys::Array| -> Result<()> {
        if let Some(blob) = gathered.take() {
            parts.unshift(&blob);
        }
        *gathered = Some(crate::body::blob_of(&parts.to_vec(), "")?);
        parts.set_length(0);
        Ok(())
    };
    for_each_chunk(stream, "the stream", |chunk| {
        super::convert::feed(&mut hasher, chunk, &mut scratch);
        // A copy: the stream's source may reuse its buffers.
        parts.push(&chunk.slice(0, chunk.length()));
        pending += chunk.length();
        if pending >= GATHER {
            fold(&mut gathered, &parts)?;
            pending = 0;
        }
        Ok(())
    })
    .await?;
    fold(&mut gathered, &parts)?;
    Ok((hasher.finish(), gathered.unwrap_or_else(|| web_sys::Blob::new().unwrap_throw())))
}

/// `body` as a `ReadableStream`: a Blob's own stream, or chunks pulled one at a time as the
/// reader asks (at most one chunk read ahead). Cancelling drops the source: nothing is left in
/// flight, and no transaction stays open.
pub(crate) fn readable(body: Body) -> Result<web_sys::ReadableStream> {
    let source = match body {
        Body::Blob(blob) => return Ok(blob.stream()),
        Body::Chunks(source) => Rc::new(RefCell::new(Some(source))),
    };
    let underlying = Object::new();
    let pulling = Rc::clone(&source);
    let pull = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |controller: JsValue| {
        let source = Rc::clone(&pulling);
        future_to_promise(async move {
            let controller: web_sys::ReadableStreamDefaultController = controller.unchecked_into();
            // Taken out while reading: a cancel meanwhile finds nothing to drop but this read.
            let Some(mut chunks) = source.borrow_mut().take() else { return Ok(JsValue::UNDEFINED) };
            match chunks.next_chunk().await {
                Ok(Some(chunk)) => {
                    controller.enqueue_with_chunk(&chunk)?;
                    *source.borrow_mut() = Some(chunks);
                }
                Ok(None) => controller.close()?,
                Err(error) => controller.error_with_e(&to_js(error)),
            }
            Ok(JsValue::UNDEFINED)
        })
    });
    let cancel = Closure::<dyn FnMut(JsValue)>::new(move |_reason: JsValue| {
        source.borrow_mut().take();
    });
    let _ = Reflect::set(&underlying, &"pull".into(), pull.as_ref());
    let _ = Reflect::set(&underlying, &"cancel".into(), cancel.as_ref());
    // The stream owns its source's callbacks: they live as long as JavaScript holds the stream.
    let _ = Reflect::set(&underlying, &"__closures".into(), &js_sys::Array::of2(&pull.into_js_value(), &cancel.into_js_value()));
    web_sys::ReadableStream::new_with_underlying_source(&underlying).map_err(|error| from_thrown(error, "making a stream"))
}

/// `body` as a Blob of `media_type`: a stored Blob as it is, chunks gathered into one.
pub(crate) async fn into_blob(body: Body, media_type: &str) -> Result<web_sys::Blob> {
    match body {
        Body::Blob(blob) => Ok(blob),
        Body::Chunks(mut chunks) => {
            let mut parts = Vec::new();
            while let Some(chunk) = chunks.next_chunk().await? {
                parts.push(JsValue::from(chunk));
            }
            crate::body::blob_of(&parts, media_type)
        }
    }
}
