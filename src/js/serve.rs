//! `serveAttachment(request, store, { prefix })`: attachments over HTTP, for service workers,
//! workerd and Deno. The decisions (ranges, tags) are the core's ([`crate::core::byte_range`]);
//! this file reads the request and builds the `Response`.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::any::AnyStore;
use super::classes::promise;
use super::convert::{self, describe_value};
use crate::core::byte_range::{etag, none_match, parse_range, ByteRange, RangeRequest};
use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::AttachmentId;
use crate::records::is_absent;
use crate::AttachmentStore;

/// An attachment is addressed by its content: its bytes never change, so any cache may keep them.
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Answers `GET`/`HEAD <prefix><id>` from `store`: 200 with the bytes, 206 for a `Range`, 304 when
/// `If-None-Match` names it, 416 for a range past the end, 404 `{ code: "NotFound" }` for an
/// unknown or malformed id, 405 for other methods; `undefined` for URLs outside `prefix`
/// (default `/attachments/`), so a fetch handler can fall through.
#[wasm_bindgen(js_name = serveAttachment)]
pub fn serve_attachment(request: JsValue, store: JsValue, options: JsValue) -> Promise {
    promise(async move {
        let request: web_sys::Request = request
            .dyn_into()
            .map_err(|other| AttachmentStoreError::invalid_input(format!("request must be a Request, got {}", describe_value(&other))))?;
        let store = AnyStore::from_js(&store)?;
        let prefix = prefix(&options)?;
        let url = web_sys::Url::new(&request.url()).map_err(|_| AttachmentStoreError::invalid_input("the request's URL cannot be read"))?;
        let Some(rest) = url.pathname().strip_prefix(&prefix).map(str::to_owned) else {
            return Ok(JsValue::UNDEFINED);
        };
        let head_only = match request.method().as_str() {
            "GET" => false,
            "HEAD" => true,
            _ => return respond(405, &[("allow", "GET, HEAD")], None),
        };
        let id = js_sys::decode_uri_component(&rest).ok().and_then(|text| AttachmentId::parse(&String::from(text)).ok());
        let Some(meta) = (match &id {
            Some(id) => store.head(id).await?,
            None => None,
        }) else {
            return not_found(head_only);
        };
        let headers = request.headers();
        let header = |name: &str| headers.get(name).ok().flatten();
        let tag = etag(&meta.id);
        let length = meta.byte_len.to_string();
        let common = [("etag", tag.as_str()), ("cache-control", CACHE_CONTROL), ("accept-ranges", "bytes")];
        if none_match(header("if-none-match").as_deref(), &meta.id) {
            return respond(304, &common, None);
        }
        let (status, range) = match parse_range(header("range").as_deref(), meta.byte_len) {
            RangeRequest::Whole => (200, ByteRange::whole(meta.byte_len)),
            RangeRequest::Partial(range) => (206, range),
            RangeRequest::Unsatisfiable => {
                let unsatisfied = format!("bytes */{length}");
                return respond(416, &[common[0], common[1], common[2], ("content-range", &unsatisfied)], None);
            }
        };
        let content_range = format!("bytes {}-{}/{length}", range.start, range.end.saturating_sub(1));
        let range_length = range.len().to_string();
        let mut fields = vec![("content-type", meta.media_type.as_str()), ("content-length", range_length.as_str())];
        fields.extend(common);
        if status == 206 {
            fields.push(("content-range", &content_range));
        }
        if head_only {
            return respond(status, &fields, None);
        }
        let (_, body) = store.read_body(&meta.id, range.start, Some(range.end)).await?;
        let body: JsValue = match body {
            // A Blob body lets the engine read the file itself as the response is consumed.
            crate::body::Body::Blob(blob) => blob.into(),
            chunks => super::stream::readable(chunks)?.into(),
        };
        respond(status, &fields, Some(&body))
    })
}

fn prefix(options: &JsValue) -> Result<String> {
    if is_absent(options) {
        return Ok("/attachments/".into());
    }
    convert::expect_object(options, &"options")?;
    let given = convert::field(options, "prefix")?;
    if is_absent(&given) {
        return Ok("/attachments/".into());
    }
    let prefix = convert::string(&given, &"options.prefix")?;
    if !prefix.starts_with('/') {
        return Err(AttachmentStoreError::invalid_input(format!("options.prefix must start with `/`, got {}", describe_value(&given))));
    }
    Ok(prefix)
}

fn not_found(head_only: bool) -> Result<JsValue> {
    let body = JsValue::from_str(r#"{"code":"NotFound","message":"no such attachment"}"#);
    respond(404, &[("content-type", "application/json")], (!head_only).then_some(&body))
}

fn respond(status: u16, fields: &[(&str, &str)], body: Option<&JsValue>) -> Result<JsValue> {
    let headers = web_sys::Headers::new().map_err(|_| AttachmentStoreError::backend("cannot make Headers"))?;
    for (name, value) in fields {
        headers.append(name, value).map_err(|_| AttachmentStoreError::backend("cannot set a header"))?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&headers);
    match body {
        Some(body) => response_with(body, &init),
        None => web_sys::Response::new_with_opt_str_and_init(None, &init),
    }
    .map(JsValue::from)
    .map_err(|error| super::error::from_thrown(error, "making the response"))
}

/// `new Response(body, init)` for a Blob, a stream or a string.
fn response_with(body: &JsValue, init: &web_sys::ResponseInit) -> std::result::Result<web_sys::Response, JsValue> {
    if let Some(blob) = body.dyn_ref::<web_sys::Blob>() {
        web_sys::Response::new_with_opt_blob_and_init(Some(blob), init)
    } else if let Some(stream) = body.dyn_ref::<web_sys::ReadableStream>() {
        web_sys::Response::new_with_opt_readable_stream_and_init(Some(stream), init)
    } else {
        web_sys::Response::new_with_opt_str_and_init(body.as_string().as_deref(), init)
    }
}
