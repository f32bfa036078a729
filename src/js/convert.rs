//! Checking and converting what JavaScript passes in, and building what it gets back. Every
//! argument arrives as a `JsValue`, so a wrong type is an `InvalidInput` rejection, never a trap.

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{validate_session_id, AttachmentManifestEntry};
use crate::core::media_type::MediaType;
use crate::body::Bytes;
pub(crate) use crate::body::{feed, hash_buffer, hash_js_buffer};
use crate::core::meta::{AttachmentCreateMeta, AttachmentMeta};
// Reading plain values is shared with the backends' row decoding.
pub(crate) use crate::records::{epoch_ms, expect_object, field, is_absent, string, describe_value};
use crate::records::{FromJs, ToJs};

fn invalid(message: impl Into<String>) -> AttachmentStoreError {
    AttachmentStoreError::invalid_input(message)
}

/// An id argument: a string; `Ok(None)` when the string names nothing (malformed), which lookups
/// treat as "not found" and deletes as "nothing to do".
pub(crate) fn id_lookup(value: &JsValue) -> Result<Option<AttachmentId>> {
    Ok(AttachmentId::parse(&string(value, &"the attachment id")?).ok())
}

/// An id argument that must be well formed (manifest writes).
pub(crate) fn id_strict(value: &JsValue, what: &str) -> Result<AttachmentId> {
    AttachmentId::parse(&string(value, &what)?)
}

pub(crate) fn session_id(value: &JsValue) -> Result<String> {
    let session_id = string(value, &"sessionId")?;
    validate_session_id(&session_id)?;
    Ok(session_id)
}

/// The metadata of a put. For a `Blob` or `File` the meta may be left out, and what it says of
/// itself fills what the caller left out: a missing or empty `mediaType` is the Blob's type
/// without its parameters (or `application/octet-stream`), a missing `label` a File's name. An
/// explicit `mediaType` is validated as ever; other bytes need the meta.
pub(crate) fn create_meta(meta: &JsValue, bytes: &JsValue) -> Result<AttachmentCreateMeta> {
    let Some(blob) = bytes.dyn_ref::<web_sys::Blob>() else {
        return AttachmentCreateMeta::from_js(meta);
    };
    let filled = Object::new();
    if !is_absent(meta) {
        expect_object(meta, &"meta")?;
        Object::assign(&filled, meta.unchecked_ref());
    }
    let set = |name: &str, value: &str| Reflect::set(&filled, &wasm_bindgen::intern(name).into(), &value.into()).map(drop).map_err(|_| invalid("meta cannot be read"));
    let media_type = field(&filled, "mediaType")?;
    if is_absent(&media_type) || media_type.as_string().is_some_and(|given| given.is_empty()) {
        set("mediaType", MediaType::of_blob_type(&blob.type_()).as_str())?;
    }
    if is_absent(&field(&filled, "label")?) {
        if let Some(name) = blob.dyn_ref::<web_sys::File>().map(web_sys::File::name).filter(|name| !name.is_empty()) {
            set("label", &name)?;
        }
    }
    AttachmentCreateMeta::from_js(&filled.into())
}

/// `data:<media type>;base64,...` of bytes still in JavaScript, encoded a slice at a time so wasm
/// memory stays bounded; JavaScript joins the pieces.
pub(crate) fn data_url(media_type: &MediaType, bytes: &Uint8Array) -> JsValue {
    const PIECE: u32 = 3 << 20; // a multiple of 3: each piece encodes on its own
    let pieces = Array::new();
    pieces.push(&crate::core::data_url::data_url_prefix(media_type).into());
    let (mut scratch, mut encoded) = (Vec::new(), String::new());
    let mut offset = 0;
    while offset < bytes.length() {
        let end = (offset + PIECE).min(bytes.length());
        scratch.resize((end - offset) as usize, 0);
        bytes.subarray(offset, end).copy_to(&mut scratch);
        encoded.clear();
        crate::core::data_url::push_base64(&scratch, &mut encoded);
        pieces.push(&JsValue::from_str(&encoded));
        offset = end;
    }
    pieces.join("").into()
}

/// A range argument of `getBlob`/`getStream`: absent means every byte; else `{ start, end? }` of
/// whole numbers (`end` exclusive).
pub(crate) fn range(value: &JsValue) -> Result<(u64, Option<u64>)> {
    if is_absent(value) {
        return Ok((0, None));
    }
    expect_object(value, &"range")?;
    let whole = |name: &str| -> Result<Option<u64>> {
        let given = field(value, name)?;
        if is_absent(&given) {
            return Ok(None);
        }
        match given.as_f64() {
            Some(n) if n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&n) => Ok(Some(n as u64)),
            _ => Err(invalid(format!("range.{name} must be a whole number of bytes, got {}", describe_value(&given)))),
        }
    };
    Ok((whole("start")?.ok_or_else(|| invalid("range.start is required"))?, whole("end")?))
}

/// The options of `list`: absent (everything), or `{ after?: id, limit?: whole number from 1 }`.
pub(crate) fn list_page(options: &JsValue) -> Result<(Option<AttachmentId>, Option<usize>)> {
    if is_absent(options) {
        return Ok((None, None));
    }
    expect_object(options, &"options")?;
    let after = field(options, "after")?;
    let after = if is_absent(&after) { None } else { Some(id_strict(&after, "options.after")?) };
    Ok((after, page_limit(options)?))
}

/// The options of `manifest.listUncommitted`: absent (everything), or `{ after?: row, limit?:
/// whole number from 1 }`, where `after` is the last row of the previous page.
pub(crate) fn uncommitted_page(options: &JsValue) -> Result<(Option<AttachmentManifestEntry>, Option<usize>)> {
    if is_absent(options) {
        return Ok((None, None));
    }
    expect_object(options, &"options")?;
    let after = field(options, "after")?;
    let after = if is_absent(&after) {
        None
    } else {
        Some(AttachmentManifestEntry::from_js(&after).map_err(|error| invalid(format!("options.after must be a row listUncommitted returned: {}", error.message())))?)
    };
    Ok((after, page_limit(options)?))
}

/// A page's `options.limit`: absent, or a whole number from 1.
fn page_limit(options: &JsValue) -> Result<Option<usize>> {
    let limit = field(options, "limit")?;
    match limit.as_f64() {
        _ if is_absent(&limit) => Ok(None),
        Some(n) if n.fract() == 0.0 && (1.0..=4_294_967_295.0).contains(&n) => Ok(Some(n as usize)),
        _ => Err(invalid(format!("options.limit must be a whole number from 1, got {}", describe_value(&limit)))),
    }
}

/// A session state argument: `undefined` means none; any other value is the state (checked by the
/// backend that stores it: one it cannot keep is `InvalidInput`, and nothing is written).
pub(crate) fn session_state(value: &JsValue) -> Option<crate::SessionState> {
    (!value.is_undefined()).then(|| crate::SessionState::Js(value.clone()))
}

/// An array argument.
pub(crate) fn array(value: &JsValue, what: &str) -> Result<Array> {
    if Array::is_array(value) {
        Ok(value.clone().unchecked_into())
    } else {
        Err(invalid(format!("{what} must be an array, got {}", describe_value(value))))
    }
}

/// An array of well-formed ids.
pub(crate) fn id_list(value: &JsValue) -> Result<Vec<AttachmentId>> {
    if !Array::is_array(value) {
        return Err(invalid(format!("ids must be an array of attachment ids, got {}", describe_value(value))));
    }
    value.unchecked_ref::<Array>().iter().map(|id| id_strict(&id, "each id")).collect()
}

/// Bytes from JavaScript, taken out of the caller's hands (later mutation changes nothing) and
/// hashed; they stay in JavaScript (a buffer, or for large Blobs and streams a Blob), entering wasm
/// only chunk by chunk for the hash.
pub(crate) struct JsBytes {
    /// SHA-256 of the bytes.
    pub id: AttachmentId,
    /// An exact-length buffer no one else holds, or a Blob of the bytes.
    pub body: Bytes,
    /// For a Blob read whole to be hashed: that read, for stores that want a buffer.
    read: Option<ArrayBuffer>,
}

/// Up to this size a Blob is kept as a buffer (IndexedDB stores small bytes with their metadata).
const SMALL_BLOB_MAX: f64 = 64.0 * 1024.0;

/// Up to this size a `Blob` is read whole and hashed with WebCrypto where it can (which hashes
/// about three times as fast as wasm: `npm run bench`); larger ones are hashed through their
/// stream, so neither JavaScript nor wasm memory holds them whole. Either way a Blob over 64 KiB
/// stays a Blob, which IndexedDB stores as it is.
pub(crate) const WHOLE_BLOB_MAX: f64 = 32.0 * 1024.0 * 1024.0;


impl JsBytes {
    /// One bytes argument (`put`); see [`Self::read_all`].
    pub(crate) async fn read(value: &JsValue, transfer: Transfer) -> Result<Self> {
        let mut read = Self::read_all(vec![BytesArg::check(value)?], transfer).await.map_err(|(_, error)| error)?;
        read.pop().ok_or_else(|| AttachmentStoreError::backend("no bytes were read"))
    }

    /// Checked bytes arguments (`putMany`), taken and hashed. Every Blob is read before any buffer
    /// is moved, so a failure leaves the caller's buffers as they were. An error comes with the
    /// index of the argument it is about.
    pub(crate) async fn read_all(mut args: Vec<BytesArg>, transfer: Transfer) -> std::result::Result<Vec<Self>, (usize, AttachmentStoreError)> {
        let mut large: Vec<(usize, Self)> = Vec::new();
        for (index, arg) in args.iter_mut().enumerate() {
            match arg {
                BytesArg::Blob(blob) if blob.size() <= SMALL_BLOB_MAX => {
                    let read = JsFuture::from(blob.array_buffer()).await.map_err(|e| (index, super::error::from_thrown(e, "reading the Blob")))?;
                    *arg = BytesArg::Read(read.unchecked_into());
                }
                // Hashed, and kept a Blob: where the store keeps Blobs it is never read to be stored.
                BytesArg::Blob(blob) if blob.size() <= WHOLE_BLOB_MAX => {
                    let read: ArrayBuffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| (index, super::error::from_thrown(e, "reading the Blob")))?.unchecked_into();
                    let id = hash_js_buffer(&read).await.map_err(|e| (index, e))?;
                    large.push((index, Self { id, body: Bytes::Blob(blob.clone()), read: Some(read) }));
                }
                BytesArg::Blob(blob) => {
                    let (id, _) = super::stream::hash_stream(&blob.stream(), "the Blob").await.map_err(|e| (index, e))?;
                    large.push((index, Self { id, body: Bytes::Blob(blob.clone()), read: None }));
                }
                BytesArg::Stream(stream) => {
                    let (id, blob) = super::stream::gather_stream(stream).await.map_err(|e| (index, e))?;
                    large.push((index, Self { id, body: Bytes::Blob(blob), read: None }));
                }
                BytesArg::View(_) | BytesArg::Read(_) => {}
            }
        }
        let shared = shared_buffers(&args, transfer);
        let buffers: Vec<Option<ArrayBuffer>> = args
            .into_iter()
            .enumerate()
            .map(|(index, arg)| {
                // Moving a buffer two items share would leave the second one nothing: copy both.
                let transfer = if arg.buffer_in(&shared) { Transfer::Copy } else { transfer };
                arg.take(transfer).map_err(|e| (index, e))
            })
            .collect::<std::result::Result<_, _>>()?;
        let mut large = large.into_iter().peekable();
        let mut read = Vec::with_capacity(buffers.len());
        for (index, buffer) in buffers.into_iter().enumerate() {
            match buffer {
                Some(buffer) => read.push(Self { id: hash_js_buffer(&buffer).await.map_err(|e| (index, e))?, body: Bytes::Buffer(buffer), read: None }),
                None => read.push(large.next().map(|(_, bytes)| bytes).ok_or_else(|| (index, AttachmentStoreError::backend("a large Blob went missing")))?),
            }
        }
        Ok(read)
    }

    /// The bytes as one buffer, for stores that need them whole (memory, JavaScript-implemented
    /// ones): a Blob is read here.
    pub(crate) async fn into_buffer(self) -> Result<(AttachmentId, ArrayBuffer)> {
        match (self.body, self.read) {
            (Bytes::Buffer(buffer), _) | (Bytes::Blob(_), Some(buffer)) => Ok((self.id, buffer)),
            (Bytes::Blob(blob), None) => Ok((self.id, crate::body::read_blob(&blob).await?)),
        }
    }
}

/// A bytes argument, checked: `Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>`, not
/// detached.
pub(crate) enum BytesArg {
    /// A `Uint8Array`, or an `ArrayBuffer` seen whole through one.
    View(Uint8Array),
    Blob(web_sys::Blob),
    Stream(web_sys::ReadableStream),
    /// A Blob's contents, read ([`JsBytes::read_all`]).
    Read(ArrayBuffer),
}

impl BytesArg {
    pub(crate) fn check(value: &JsValue) -> Result<Self> {
        if let Some(view) = bytes_view(value)? {
            Ok(Self::View(view))
        } else if let Some(blob) = value.dyn_ref::<web_sys::Blob>() {
            Ok(Self::Blob(blob.clone()))
        } else if let Some(stream) = value.dyn_ref::<web_sys::ReadableStream>() {
            if stream.locked() {
                return Err(invalid("bytes are a ReadableStream that is locked (another reader holds it)"));
            }
            Ok(Self::Stream(stream.clone()))
        } else {
            Err(invalid(format!("bytes must be a Uint8Array, an ArrayBuffer, a Blob or a ReadableStream, got {}", describe_value(value))))
        }
    }

    /// Whether this argument's bytes live in one of `buffers`.
    fn buffer_in(&self, buffers: &js_sys::Set) -> bool {
        matches!(self, Self::View(view) if buffers.size() > 0 && buffers.has(&view.buffer()))
    }

    /// An exact-length buffer no one else holds: the bytes copied, or with [`Transfer::Move`]
    /// moved when they fill their buffer whole ([`Transfer::take_whole`]); `None` for large Blobs
    /// and streams, which stay Blobs.
    fn take(self, transfer: Transfer) -> Result<Option<ArrayBuffer>> {
        Ok(Some(match self {
            Self::View(view) => {
                let buffer = view.buffer();
                let whole = view.byte_offset() == 0 && view.byte_length() == buffer.byte_length();
                match transfer.take_whole(&buffer, whole) {
                    Some(moved) => moved,
                    // Detached since it was checked (while a Blob was read): catch, do not trap.
                    None => view.unchecked_ref::<CheckedView>().try_slice(0, view.length()).map(|copy| copy.buffer()).map_err(|_| detached())?,
                }
            }
            Self::Read(buffer) => buffer,
            // Large Blobs and streams were hashed and kept as Blobs.
            Self::Blob(_) | Self::Stream(_) => return Ok(None),
        }))
    }
}

/// With [`Transfer::Move`], the buffers more than one of `args` lives in (empty otherwise).
fn shared_buffers(args: &[BytesArg], transfer: Transfer) -> js_sys::Set {
    let (seen, shared) = (js_sys::Set::new(&JsValue::UNDEFINED), js_sys::Set::new(&JsValue::UNDEFINED));
    if transfer == Transfer::Move && args.len() > 1 {
        for arg in args {
            if let BytesArg::View(view) = arg {
                let buffer = view.buffer();
                if seen.has(&buffer) {
                    shared.add(&buffer);
                } else {
                    seen.add(&buffer);
                }
            }
        }
    }
    shared
}

/// A `Uint8Array`, or an `ArrayBuffer` seen whole through one (`None`: neither); a detached one
/// is an error, not empty bytes.
pub(crate) fn bytes_view(value: &JsValue) -> Result<Option<Uint8Array>> {
    let (buffer, view) = if let Some(view) = value.dyn_ref::<Uint8Array>() {
        (view.buffer(), Some(view.clone()))
    } else if let Some(buffer) = value.dyn_ref::<ArrayBuffer>() {
        (buffer.clone(), None)
    } else {
        return Ok(None);
    };
    // Before any view is made: constructing one over a detached buffer throws.
    if is_detached(&buffer) {
        return Err(detached());
    }
    Ok(Some(view.unwrap_or_else(|| Uint8Array::new(&buffer))))
}

fn detached() -> AttachmentStoreError {
    invalid("bytes are detached: their buffer was transferred elsewhere")
}

/// Whether `buffer` was detached (transferred elsewhere): its bytes are gone, not empty. Only a
/// detached buffer refuses `slice`; engines without `detached` can tell no other way.
fn is_detached(buffer: &ArrayBuffer) -> bool {
    buffer.byte_length() == 0 && buffer.unchecked_ref::<ByteBuffer>().try_slice(0).is_err()
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `ArrayBuffer`, bound here for what js-sys lacks or binds without `catch`.
    #[wasm_bindgen(js_name = ArrayBuffer)]
    type ByteBuffer;

    /// ES2024: moves the contents into a new fixed-length buffer and detaches this one, no copy.
    #[wasm_bindgen(method, catch, js_name = transferToFixedLength)]
    fn transfer_to_fixed_length(this: &ByteBuffer) -> std::result::Result<ArrayBuffer, JsValue>;

    #[wasm_bindgen(method, catch, js_name = slice)]
    fn try_slice(this: &ByteBuffer, begin: u32) -> std::result::Result<ArrayBuffer, JsValue>;

    /// `Uint8Array`, for a `slice` that reports a detached buffer instead of throwing through wasm.
    #[wasm_bindgen(js_name = Uint8Array)]
    type CheckedView;

    #[wasm_bindgen(method, catch, js_name = slice)]
    fn try_slice(this: &CheckedView, begin: u32, end: u32) -> std::result::Result<Uint8Array, JsValue>;
}

/// Whether the caller hands its buffer over (`{ transfer: true }`) or keeps it (the default).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transfer {
    Copy,
    Move,
}

impl Transfer {
    /// `options.transfer` of a put: absent options or field mean [`Transfer::Copy`].
    pub(crate) fn from_options(options: &JsValue) -> Result<Self> {
        if is_absent(options) {
            return Ok(Self::Copy);
        }
        expect_object(options, &"options")?;
        let transfer = field(options, "transfer")?;
        match transfer.as_bool() {
            Some(true) => Ok(Self::Move),
            Some(false) => Ok(Self::Copy),
            None if is_absent(&transfer) => Ok(Self::Copy),
            None => Err(invalid(format!("options.transfer must be a boolean, got {}", describe_value(&transfer)))),
        }
    }

    /// With [`Transfer::Move`], `buffer`'s contents moved out (the caller's buffer is left
    /// detached, so it cannot change what is stored) when the bytes fill it `whole`: moving a
    /// buffer that holds more would take memory the caller never offered. `None` means copy: not
    /// asked, only part of the buffer, or not movable (an engine without `transferToFixedLength`,
    /// a shared or wasm memory's buffer).
    fn take_whole(self, buffer: &ArrayBuffer, whole: bool) -> Option<ArrayBuffer> {
        let movable = || js_sys::Reflect::has(buffer, &wasm_bindgen::intern("transferToFixedLength").into()).unwrap_or(false);
        if self == Self::Copy || !whole || !movable() {
            return None;
        }
        buffer.unchecked_ref::<ByteBuffer>().transfer_to_fixed_length().ok()
    }
}

/// `{ meta, bytes }`.
pub(crate) fn stored(meta: &AttachmentMeta, bytes: &Uint8Array) -> JsValue {
    let object = Object::new();
    let _ = Reflect::set(&object, &wasm_bindgen::intern("meta").into(), &meta.to_js());
    let _ = Reflect::set(&object, &wasm_bindgen::intern("bytes").into(), bytes);
    object.into()
}
