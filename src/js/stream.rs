//! Streams: reading the `ReadableStream`s and Blobs callers put (hashed as they are read, in
//! bounded memory), and handing attachments out as `ReadableStream`s pulled chunk by chunk.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use super::error::{from_thrown, to_js};
pub(crate) use crate::body::{for_each_chunk, hash_stream};
use crate::body::Body;
use crate::core::error::Result;
use crate::core::id::{AttachmentId, ContentHasher};

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
