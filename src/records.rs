//! The core's records as plain JavaScript objects, written and read in this one place: IndexedDB
//! rows, Durable Object values and the JavaScript API's arguments and results all go through it.
//!
//! Hand-written on purpose: a generic (de)serializer cost the wasm a third of its size, and a
//! reader written per record names the wrong field in the caller's terms (`meta.width must be a
//! whole number ...`). Reading is strict about types and lenient about extra fields.

use std::fmt::Display;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{intern, JsCast, JsValue};

use crate::core::error::{AttachmentStoreError, ErrorCode, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{apply_intent, AttachmentIntent, AttachmentManifestEntry};
use crate::core::media_type::MediaType;
use crate::core::meta::{AttachmentCreateMeta, AttachmentRef};
use crate::core::sweep_rules::AttachmentReclamationReport;

/// A record with a plain-object form.
pub(crate) trait ToJs {
    /// A fresh plain object; absent options stay absent (no `undefined` properties).
    fn to_js(&self) -> JsValue;
}

/// A record read back from its plain-object form.
pub(crate) trait FromJs: Sized {
    /// Reads the object. A missing or mistyped field is `InvalidInput` naming it; callers reading
    /// stored rows or another implementation's results recode it ([`decode_stored`],
    /// [`decode_returned`]).
    fn from_js(value: &JsValue) -> Result<Self>;
}

/// A stored row read back: unreadable is `MetadataDecode` (the row is damaged, not the call).
pub(crate) fn decode_stored<T: FromJs>(value: &JsValue, what: &str) -> Result<T> {
    T::from_js(value).map_err(|error| error.with_code(ErrorCode::MetadataDecode).context(&format!("a stored {what} row cannot be read")))
}

/// Stored rows (an array) read back, as [`decode_stored`].
pub(crate) fn decode_stored_rows<T: FromJs>(value: &JsValue, what: &str) -> Result<Vec<T>> {
    let rows = value.dyn_ref::<Array>().ok_or_else(|| AttachmentStoreError::new(ErrorCode::MetadataDecode, format!("stored {what} rows are not an array")))?;
    rows.iter().map(|row| decode_stored(&row, what)).collect()
}

/// What a JavaScript-implemented store or manifest returned: malformed is `Backend` (its fault,
/// not the caller's).
#[cfg(any(feature = "js", test))]
pub(crate) fn decode_returned<T: FromJs>(value: &JsValue, what: &str) -> Result<T> {
    T::from_js(value).map_err(|error| error.with_code(ErrorCode::Backend).context(&format!("{what} is malformed")))
}

/// An array returned by a JavaScript-implemented store or manifest, as [`decode_returned`].
#[cfg(any(feature = "js", test))]
pub(crate) fn decode_returned_list<T: FromJs>(value: &JsValue, what: &str) -> Result<Vec<T>> {
    let list = value.dyn_ref::<Array>().ok_or_else(|| AttachmentStoreError::backend(format!("{what} is not an array, got {}", describe_value(value))))?;
    list.iter().map(|item| decode_returned(&item, what)).collect()
}

/// Records as a JavaScript array of plain objects.
#[cfg(feature = "js")]
pub(crate) fn to_array<T: ToJs>(records: &[T]) -> JsValue {
    records.iter().map(ToJs::to_js).collect::<Array>().into()
}

// ---- reading JavaScript values -------------------------------------------------------------

fn invalid(message: impl Into<String>) -> AttachmentStoreError {
    AttachmentStoreError::invalid_input(message)
}

/// A bad value as an error message shows it: the value itself for numbers, strings (quoted,
/// cut short), booleans and big integers (`got 1.5`, `got "yesterday"`), else what it is (`got
/// null`, `got an array`, `got a Date`, `got a function`). Numbers are formatted by JavaScript:
/// float formatting in Rust would weigh on the wasm for error messages alone.
pub(crate) fn describe_value(value: &JsValue) -> String {
    if value.is_null() {
        return "null".into();
    }
    if Array::is_array(value) {
        return "an array".into();
    }
    if let Some(text) = value.as_string() {
        return crate::core::id::quote_for_message(&text);
    }
    let kind = value.js_typeof().as_string().unwrap_or_default();
    match kind.as_str() {
        "number" => value.unchecked_ref::<js_sys::Number>().to_string_with_radix(10).map(String::from).unwrap_or(kind),
        "boolean" => if value.is_truthy() { "true".into() } else { "false".into() },
        "bigint" => value.unchecked_ref::<js_sys::BigInt>().to_string(10).map(|text| format!("{}n", String::from(text))).unwrap_or(kind),
        "object" => {
            let constructor = Reflect::get(value, &"constructor".into()).ok();
            let name = constructor.and_then(|c| Reflect::get(&c, &"name".into()).ok()).and_then(|n| n.as_string());
            name.map_or_else(|| "an object".into(), |name| format!("a {name}"))
        }
        "function" => "a function".into(),
        "symbol" => "a symbol".into(),
        _ => kind,
    }
}

/// `object[name]`, treating a throwing getter as a bad argument.
pub(crate) fn field(object: &JsValue, name: &str) -> Result<JsValue> {
    Reflect::get(object, &intern(name).into()).map_err(|_| invalid(format!("reading `{name}` failed")))
}

/// `undefined` or `null`: what an optional field may be when it is not given.
pub(crate) fn is_absent(value: &JsValue) -> bool {
    value.is_undefined() || value.is_null()
}

/// A plain object argument (not null, not an array, not a primitive).
pub(crate) fn expect_object(value: &JsValue, what: &dyn Display) -> Result<()> {
    if value.is_object() && !Array::is_array(value) {
        Ok(())
    } else {
        Err(invalid(format!("{what} must be an object, got {}", describe_value(value))))
    }
}

/// A string.
pub(crate) fn string(value: &JsValue, what: &dyn Display) -> Result<String> {
    value.as_string().ok_or_else(|| invalid(format!("{what} must be a string, got {}", describe_value(value))))
}

/// Epoch milliseconds: a finite number within JavaScript's safe integers, truncated to whole
/// milliseconds.
pub(crate) fn epoch_ms(value: &JsValue, what: &dyn Display) -> Result<i64> {
    match value.as_f64() {
        Some(ms) if ms.is_finite() && ms.abs() <= MAX_SAFE as f64 => Ok(ms.trunc() as i64),
        _ => Err(invalid(format!("{what} must be a finite number of milliseconds, got {}", describe_value(value)))),
    }
}

/// `Number.MAX_SAFE_INTEGER`: beyond it a number no longer names one integer.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// A whole number from 0 to `max` (formatted as an integer: float formatting would pull a
/// formatter into the wasm just for error messages).
fn whole(value: &JsValue, what: &dyn Display, max: u64) -> Result<u64> {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && (0.0..=max as f64).contains(&n) => Ok(n as u64),
        _ => Err(invalid(format!("{what} must be a whole number from 0 to {max}, got {}", describe_value(value)))),
    }
}

/// An optional field: `None` when absent, else `read` it.
fn optional<T>(value: JsValue, read: impl FnOnce(&JsValue) -> Result<T>) -> Result<Option<T>> {
    if is_absent(&value) {
        Ok(None)
    } else {
        read(&value).map(Some)
    }
}

/// Reads the fields of one object, naming them `<record>.<field>` in errors.
struct Fields<'a> {
    object: &'a JsValue,
    record: &'static str,
}

impl<'a> Fields<'a> {
    fn of(object: &'a JsValue, record: &'static str) -> Result<Self> {
        expect_object(object, &record)?;
        Ok(Self { object, record })
    }
    /// `<record>.<name>` for an error message, formatted only if one is made.
    fn name<'n>(&self, name: &'n str) -> FieldName<'n> {
        FieldName { record: self.record, name }
    }
    fn get(&self, name: &str) -> Result<JsValue> {
        field(self.object, name)
    }
    fn string(&self, name: &str) -> Result<String> {
        string(&self.get(name)?, &self.name(name))
    }
    fn optional_string(&self, name: &str) -> Result<Option<String>> {
        optional(self.get(name)?, |value| string(value, &self.name(name)))
    }
    fn id(&self, name: &str) -> Result<AttachmentId> {
        AttachmentId::parse(&self.string(name)?)
    }
    fn dimension(&self, name: &str) -> Result<Option<u32>> {
        optional(self.get(name)?, |value| whole(value, &self.name(name), u64::from(u32::MAX)).map(|n| n as u32))
    }
    fn length(&self, name: &str) -> Result<u64> {
        whole(&self.get(name)?, &self.name(name), MAX_SAFE)
    }
    fn epoch_ms(&self, name: &str) -> Result<i64> {
        epoch_ms(&self.get(name)?, &self.name(name))
    }
    fn optional_epoch_ms(&self, name: &str) -> Result<Option<i64>> {
        optional(self.get(name)?, |value| epoch_ms(value, &self.name(name)))
    }
}

/// A field's name in the caller's terms (`meta.width`), as [`Fields::name`] gives it.
struct FieldName<'n> {
    record: &'static str,
    name: &'n str,
}

impl Display for FieldName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.record, self.name)
    }
}

// ---- writing plain objects -----------------------------------------------------------------

/// Builds one plain object, skipping absent options.
struct ObjectBuilder(Object);

impl ObjectBuilder {
    fn new() -> Self {
        Self(Object::new())
    }
    fn set(self, name: &str, value: impl Into<JsValue>) -> Self {
        // Defining a data property on a fresh plain object cannot fail.
        let _ = Reflect::set(&self.0, &intern(name).into(), &value.into());
        self
    }
    fn set_some<T: Into<JsValue>>(self, name: &str, value: Option<T>) -> Self {
        match value {
            Some(value) => self.set(name, value),
            None => self,
        }
    }
    fn build(self) -> JsValue {
        self.0.into()
    }
}

// ---- the records ---------------------------------------------------------------------------
// Two groups of fields recur: what describes bytes (`mediaType, width?, height?, label?`) and what
// makes an intent (`attachmentId, sessionId, canonicalUri, intentAtEpochMs`). Each is read and
// written once here; the records add their own fields around them.

impl Fields<'_> {
    fn description(&self) -> Result<AttachmentCreateMeta> {
        Ok(AttachmentCreateMeta {
            media_type: MediaType::parse(&self.string("mediaType")?)?,
            width: self.dimension("width")?,
            height: self.dimension("height")?,
            label: self.optional_string("label")?,
        })
    }

    fn intent(&self) -> Result<AttachmentIntent> {
        Ok(AttachmentIntent {
            attachment_id: self.id("attachmentId")?,
            session_id: self.string("sessionId")?,
            canonical_uri: self.string("canonicalUri")?,
            intent_at_epoch_ms: self.epoch_ms("intentAtEpochMs")?,
        })
    }
}

impl ObjectBuilder {
    /// The description, with `byteLen` after `mediaType` when given (the order results keep).
    fn description(self, media_type: &MediaType, byte_len: Option<u64>, width: Option<u32>, height: Option<u32>, label: Option<&str>) -> Self {
        self.set("mediaType", media_type.as_str())
            .set_some("byteLen", byte_len.map(|len| len as f64))
            .set_some("width", width)
            .set_some("height", height)
            .set_some("label", label)
    }

    fn intent(self, attachment_id: &AttachmentId, session_id: &str, canonical_uri: &str, intent_at_epoch_ms: i64) -> Self {
        self.set("attachmentId", attachment_id.as_str())
            .set("sessionId", session_id)
            .set("canonicalUri", canonical_uri)
            .set("intentAtEpochMs", intent_at_epoch_ms as f64)
    }
}

/// `{ mediaType, width?, height?, label? }`
impl ToJs for AttachmentCreateMeta {
    fn to_js(&self) -> JsValue {
        ObjectBuilder::new().description(&self.media_type, None, self.width, self.height, self.label.as_deref()).build()
    }
}

impl FromJs for AttachmentCreateMeta {
    fn from_js(value: &JsValue) -> Result<Self> {
        Fields::of(value, "meta")?.description()
    }
}

/// `{ id, mediaType, byteLen, width?, height?, label? }`
impl ToJs for AttachmentRef {
    fn to_js(&self) -> JsValue {
        ObjectBuilder::new()
            .set("id", self.id.as_str())
            .description(&self.media_type, Some(self.byte_len), self.width, self.height, self.label.as_deref())
            .build()
    }
}

impl FromJs for AttachmentRef {
    fn from_js(value: &JsValue) -> Result<Self> {
        let fields = Fields::of(value, "ref")?;
        Ok(fields.description()?.into_ref(fields.id("id")?, fields.length("byteLen")?))
    }
}

/// `{ attachmentId, sessionId, canonicalUri, intentAtEpochMs }`; reading also checks what the
/// types cannot ([`AttachmentIntent::validate`]).
impl ToJs for AttachmentIntent {
    fn to_js(&self) -> JsValue {
        ObjectBuilder::new().intent(&self.attachment_id, &self.session_id, &self.canonical_uri, self.intent_at_epoch_ms).build()
    }
}

impl FromJs for AttachmentIntent {
    fn from_js(value: &JsValue) -> Result<Self> {
        let intent = Fields::of(value, "intent")?.intent()?;
        intent.validate()?;
        Ok(intent)
    }
}

/// `{ attachmentId, sessionId, canonicalUri, intentAtEpochMs, committedAtEpochMs? }`
impl ToJs for AttachmentManifestEntry {
    fn to_js(&self) -> JsValue {
        ObjectBuilder::new()
            .intent(&self.attachment_id, &self.session_id, &self.canonical_uri, self.intent_at_epoch_ms)
            .set_some("committedAtEpochMs", self.committed_at_epoch_ms.map(|ms| ms as f64))
            .build()
    }
}

impl FromJs for AttachmentManifestEntry {
    fn from_js(value: &JsValue) -> Result<Self> {
        let fields = Fields::of(value, "row")?;
        Ok(Self { committed_at_epoch_ms: fields.optional_epoch_ms("committedAtEpochMs")?, ..apply_intent(None, &fields.intent()?) })
    }
}

// ---- what backends add to the records ------------------------------------------------------

/// The property of a stored metadata row that marks bytes a plain put holds (`plain: true`): no
/// sweep or discard deletes them. Absent on rows only sessions wrote.
const PLAIN_FIELD: &str = "plain";

/// Whether a stored metadata row says a plain put holds its bytes.
pub(crate) fn is_plain(row: &JsValue) -> bool {
    Reflect::get(row, &intern(PLAIN_FIELD).into()).ok().and_then(|plain| plain.as_bool()) == Some(true)
}

/// Marks a metadata row about to be stored as held by a plain put.
pub(crate) fn mark_plain(row: &JsValue) {
    let _ = Reflect::set(row, &intern(PLAIN_FIELD).into(), &JsValue::TRUE);
}

/// The property of a stored manifest row that is there only while the row is uncommitted, with
/// its intent time (`uncommittedAt`): an index over it holds the sweep's candidates and nothing
/// else, so paging them reads no committed row.
pub(crate) const UNCOMMITTED_FIELD: &str = "uncommittedAt";

/// A manifest row as stored: its plain form plus `uncommittedAt` while uncommitted.
pub(crate) fn stored_row(row: &AttachmentManifestEntry) -> JsValue {
    ObjectBuilder(row.to_js().unchecked_into()).set_some(UNCOMMITTED_FIELD, (!row.is_committed()).then_some(row.intent_at_epoch_ms as f64)).build()
}

/// A stored manifest row brought to [`stored_row`]'s form (for an upgrade), or `None` when it
/// already is (a committed row, or one that has the property).
pub(crate) fn with_uncommitted_field(record: &JsValue) -> Option<JsValue> {
    let has = |name: &str| Reflect::get(record, &intern(name).into()).is_ok_and(|value| !value.is_undefined());
    if has("committedAtEpochMs") || has(UNCOMMITTED_FIELD) {
        return None;
    }
    let intent_at = Reflect::get(record, &"intentAtEpochMs".into()).ok()?;
    let _ = Reflect::set(record, &intern(UNCOMMITTED_FIELD).into(), &intent_at);
    Some(record.clone())
}

/// A session's state as stored: `{ sessionId?, value }` for a JavaScript value, `{ sessionId?,
/// bytes: ArrayBuffer }` for bytes, so each reads back as what it was.
pub(crate) fn state_record(session_id: Option<&str>, state: &crate::SessionState) -> JsValue {
    let record = ObjectBuilder::new().set_some("sessionId", session_id);
    match state {
        crate::SessionState::Bytes(bytes) => record.set("bytes", js_sys::Uint8Array::from(bytes.as_slice()).buffer()),
        crate::SessionState::Js(value) => record.set("value", value.clone()),
    }
    .build()
}

/// A stored session state read back ([`state_record`]); anything else is `MetadataDecode`.
pub(crate) fn decode_state(record: &JsValue) -> Result<crate::SessionState> {
    let has = |name: &str| Reflect::has(record, &intern(name).into()).unwrap_or(false);
    if record.is_object() && has("value") {
        return Ok(crate::SessionState::Js(field(record, "value")?));
    }
    match field(record, "bytes").ok().and_then(|bytes| bytes.dyn_into::<js_sys::ArrayBuffer>().ok()) {
        Some(bytes) if record.is_object() => Ok(crate::SessionState::Bytes(js_sys::Uint8Array::new(&bytes).to_vec())),
        _ => Err(AttachmentStoreError::new(ErrorCode::MetadataDecode, "a stored session state cannot be read")),
    }
}

/// `{ scannedIntentCount, reclaimedCount, deletedCount, deletedBytes }`
impl ToJs for AttachmentReclamationReport {
    fn to_js(&self) -> JsValue {
        ObjectBuilder::new()
            .set("scannedIntentCount", self.scanned_intent_count as f64)
            .set("reclaimedCount", self.reclaimed_count as f64)
            .set("deletedCount", self.deleted_count as f64)
            .set("deletedBytes", self.deleted_bytes as f64)
            .build()
    }
}

/// `{ checkedCount, checkedBytes, corrupt }`
impl ToJs for crate::VerifyReport {
    fn to_js(&self) -> JsValue {
        let corrupt: Array = self.corrupt.iter().map(|id| JsValue::from_str(id.as_str())).collect();
        ObjectBuilder::new().set("checkedCount", self.checked_count as f64).set("checkedBytes", self.checked_bytes as f64).set("corrupt", corrupt).build()
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;
    use crate::core::id::content_id;

    fn object(json: &str) -> JsValue {
        js_sys::JSON::parse(json).unwrap()
    }

    fn json(value: &JsValue) -> String {
        js_sys::JSON::stringify(value).unwrap().as_string().unwrap()
    }

    fn reference() -> AttachmentRef {
        AttachmentCreateMeta::new("image/png").unwrap().with_dimensions(640, 480).with_label("cat.png").into_ref(content_id(b"cat"), 3)
    }

    #[wasm_bindgen_test]
    fn records_round_trip_with_the_contract_field_names() {
        let full = reference();
        let written = full.to_js();
        assert_eq!(json(&written), format!(r#"{{"id":"{}","mediaType":"image/png","byteLen":3,"width":640,"height":480,"label":"cat.png"}}"#, full.id));
        assert_eq!(AttachmentRef::from_js(&written).unwrap(), full);

        let intent = AttachmentIntent::new(content_id(b"cat"), "s1", 1_700_000_000_123);
        assert_eq!(AttachmentIntent::from_js(&intent.to_js()).unwrap(), intent);

        let mut row = crate::core::manifest_rules::apply_intent(None, &intent);
        assert_eq!(AttachmentManifestEntry::from_js(&row.to_js()).unwrap(), row);
        row.committed_at_epoch_ms = Some(1_700_000_000_999);
        assert_eq!(AttachmentManifestEntry::from_js(&row.to_js()).unwrap(), row);
    }

    #[wasm_bindgen_test]
    fn absent_options_are_left_out_and_read_back_as_none() {
        let bare = AttachmentCreateMeta::new("text/plain").unwrap().into_ref(content_id(b"x"), 1);
        let written = bare.to_js();
        assert!(!json(&written).contains("width") && !json(&written).contains("label"));
        assert_eq!(AttachmentRef::from_js(&written).unwrap(), bare);
        // `null` counts as absent too.
        let meta = AttachmentCreateMeta::from_js(&object(r#"{"mediaType":"text/plain","width":null,"label":null}"#)).unwrap();
        assert_eq!(meta, AttachmentCreateMeta::new("text/plain").unwrap());
    }

    #[wasm_bindgen_test]
    fn a_wrong_field_is_named() {
        let cases = [
            (r#"{"mediaType":1}"#, "meta.mediaType must be a string"),
            (r#"{"mediaType":"image/png","width":1.5}"#, "meta.width must be a whole number from 0 to 4294967295, got 1.5"),
            (r#"{"mediaType":"image/png","height":-1}"#, "meta.height must be a whole number from 0 to 4294967295, got -1"),
            (r#"{"mediaType":"image/png","label":7}"#, "meta.label must be a string, got 7"),
            (r#"{"mediaType":"image/png","width":"wide"}"#, "meta.width must be a whole number from 0 to 4294967295, got \"wide\""),
            (r#"{"mediaType":"image/png","height":true}"#, "got true"),
            (r#"{"mediaType":"image/png","width":[1]}"#, "got an array"),
            (r#"[]"#, "meta must be an object"),
        ];
        for (given, expected) in cases {
            let error = AttachmentCreateMeta::from_js(&object(given)).unwrap_err();
            assert_eq!(error.code(), ErrorCode::InvalidInput, "{given}");
            assert!(error.message().contains(expected), "{given}: {}", error.message());
        }
    }

    #[wasm_bindgen_test]
    fn a_damaged_stored_row_is_metadata_decode_and_a_bad_returned_one_backend() {
        let damaged = object(r#"{"id":"nope","mediaType":"image/png","byteLen":3}"#);
        let stored = decode_stored::<AttachmentRef>(&damaged, "metadata").unwrap_err();
        assert_eq!(stored.code(), ErrorCode::MetadataDecode);
        assert!(stored.message().starts_with("a stored metadata row cannot be read: "), "{}", stored.message());
        assert_eq!(decode_returned::<AttachmentRef>(&damaged, "the ref").unwrap_err().code(), ErrorCode::Backend);
        assert_eq!(decode_stored_rows::<AttachmentRef>(&JsValue::from(3), "metadata").unwrap_err().code(), ErrorCode::MetadataDecode);
        assert_eq!(decode_returned_list::<AttachmentRef>(&JsValue::NULL, "the list").unwrap_err().code(), ErrorCode::Backend);
    }

    #[wasm_bindgen_test]
    fn lengths_beyond_safe_integers_are_refused() {
        let too_long = object(&format!(r#"{{"id":"{}","mediaType":"image/png","byteLen":9007199254740992}}"#, content_id(b"x")));
        assert_eq!(AttachmentRef::from_js(&too_long).unwrap_err().code(), ErrorCode::InvalidInput);
    }
}
