//! The exported free functions.

use js_sys::{ArrayBuffer, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::any::{AnyManifest, AnyStore};
use super::classes::{promise, thrown};
use super::controls::Controls;
use super::convert::{self, bytes_view, describe_value, field, hash_buffer, WHOLE_BLOB_MAX};
use super::error::from_thrown;
use crate::core::error::AttachmentStoreError;
use crate::records::ToJs;
use crate::{reclaim_orphaned_attachments, ReclaimOptions};

/// SHA-256 of `bytes` (`Uint8Array` or `ArrayBuffer`) as an attachment id.
#[wasm_bindgen(js_name = contentId)]
pub fn content_id(bytes: JsValue) -> std::result::Result<String, JsValue> {
    let Some(view) = thrown(bytes_view(&bytes))? else {
        let hint = if bytes.is_instance_of::<web_sys::Blob>() { " (use contentIdOf for a Blob)" } else { "" };
        return thrown(Err(AttachmentStoreError::invalid_input(format!("bytes must be a Uint8Array or an ArrayBuffer, got {}{hint}", describe_value(&bytes)))));
    };
    Ok(hash_buffer(&view).to_string())
}

/// SHA-256 of a `Blob`: whole by WebCrypto up to [`WHOLE_BLOB_MAX`], else through its stream, so
/// neither JavaScript nor wasm memory holds it whole. (Reading a large Blob made of many parts in
/// `slice().arrayBuffer()` steps fails in Chromium with `NotReadableError`; its stream does not.)
#[wasm_bindgen(js_name = contentIdOf)]
pub fn content_id_of(blob: JsValue) -> Promise {
    promise(async move {
        let blob: web_sys::Blob = blob
            .dyn_into()
            .map_err(|other| AttachmentStoreError::invalid_input(format!("contentIdOf needs a Blob, got {}", describe_value(&other))))?;
        if blob.size() <= WHOLE_BLOB_MAX {
            let buffer: ArrayBuffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| from_thrown(e, "reading the Blob"))?.unchecked_into();
            return Ok(convert::hash_js_buffer(&buffer).await?.to_string().into());
        }
        Ok(super::stream::hash_stream(&blob.stream(), "the Blob").await?.0.to_string().into())
    })
}

/// Reclaims what sessions intended before `olderThanEpochMs` and never committed.
#[wasm_bindgen(js_name = reclaimOrphanedAttachments)]
pub fn reclaim(manifest: JsValue, store: JsValue, older_than_epoch_ms: JsValue, options: JsValue) -> Promise {
    promise(async move {
        let manifest = AnyManifest::from_js(&manifest)?;
        let store = AnyStore::from_js(&store)?;
        let older_than = convert::epoch_ms(&older_than_epoch_ms, &"olderThanEpochMs")?;
        let controls = Controls::read(&options)?;
        let mut on_progress = |done, total| controls.progress(done, total);
        let is_aborted = || controls.should_stop();
        let on_progress: Option<&mut dyn FnMut(u64, u64)> = if controls.wants_progress() { Some(&mut on_progress) } else { None };
        let options = ReclaimOptions { on_progress, is_aborted: Some(&is_aborted) };
        let outcome = reclaim_orphaned_attachments(&manifest, &store, older_than, options).await;
        Ok(controls.finish(outcome)?.to_js())
    })
}

/// Fills `data` and `mime` of each `request.attachments` item that has a `reference` and no data.
#[wasm_bindgen(js_name = resolveLlmRequestAttachments)]
pub fn resolve_llm_request_attachments(request: JsValue, store: JsValue) -> Promise {
    promise(async move {
        convert::expect_object(&request, &"request")?;
        let attachments = field(&request, "attachments")?;
        if !js_sys::Array::is_array(&attachments) {
            return Err(AttachmentStoreError::invalid_input("request.attachments must be an array"));
        }
        let store = AnyStore::from_js(&store)?;
        let mut loaded = Vec::new();
        for (index, item) in js_sys::Array::from(&attachments).iter().enumerate() {
            convert::expect_object(&item, &format!("request.attachments[{index}]"))?;
            let reference = field(&item, "reference")?;
            if reference.is_undefined() || reference.is_null() {
                continue;
            }
            let data = field(&item, "data")?;
            let has_data = match data.dyn_ref::<Uint8Array>() {
                Some(bytes) => bytes.length() > 0,
                None if data.is_undefined() || data.is_null() => false,
                None => return Err(AttachmentStoreError::invalid_input(format!("request.attachments[{index}].data must be a Uint8Array"))),
            };
            if has_data {
                continue;
            }
            convert::expect_object(&reference, &format!("request.attachments[{index}].reference"))?;
            let id = convert::id_lookup(&field(&reference, "id")?)?
                .ok_or_else(|| AttachmentStoreError::not_found(format!("request.attachments[{index}].reference.id")))?;
            loaded.push((item, store.get_js(&id).await?));
        }
        for (item, (meta, bytes)) in loaded {
            let _ = Reflect::set(&item, &"data".into(), &bytes);
            let _ = Reflect::set(&item, &"mime".into(), &meta.media_type.as_str().into());
        }
        Ok(request)
    })
}

/// The durable IndexedDB store where `indexedDB` exists (windows, workers), else a memory store;
/// `persistence` says which. `options.name` names the database (default `"web-attachments"`).
#[wasm_bindgen(js_name = openAttachmentStore)]
pub fn open_attachment_store(options: JsValue) -> Promise {
    promise(async move {
        let mut name = JsValue::UNDEFINED;
        if !(options.is_undefined() || options.is_null()) {
            convert::expect_object(&options, &"options")?;
            name = field(&options, "name")?;
        }
        let has_indexed_db = Reflect::get(&js_sys::global(), &"indexedDB".into()).is_ok_and(|factory| factory.is_object());
        if has_indexed_db {
            JsFuture::from(super::classes::IndexedDbAttachmentStore::open(name, options)).await.map_err(|e| from_thrown(e, "opening IndexedDB"))
        } else {
            Ok(super::classes::MemoryAttachmentStore::new().into())
        }
    })
}

/// The wasm linear memory's size in bytes: for the benchmark's memory figures (not public API).
#[wasm_bindgen(js_name = __wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    wasm_bindgen::memory().unchecked_into::<js_sys::WebAssembly::Memory>().buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length().into()
}
