//! Keys and key ranges.

use js_sys::Array;
use wasm_bindgen::JsValue;

use super::super::error_map::js_error;
use crate::core::error::Result;

/// A `[sessionId, attachmentId]`-style compound key or any array value.
pub(crate) fn array_of(values: &[&str]) -> JsValue {
    values.iter().map(|value| JsValue::from_str(value)).collect::<Array>().into()
}

/// `IDBKeyRange.bound(lower, upper)` (both inclusive) over string keys.
pub(crate) fn between(lower: &str, upper: &str) -> Result<JsValue> {
    between_keys(&JsValue::from_str(lower), &JsValue::from_str(upper))
}

/// `IDBKeyRange.bound(lower, upper)` (both inclusive).
pub(crate) fn between_keys(lower: &JsValue, upper: &JsValue) -> Result<JsValue> {
    web_sys::IdbKeyRange::bound(lower, upper).map(JsValue::from).map_err(|error| js_error(error, "building a key range"))
}

/// `IDBKeyRange.bound([first], [first, []])`: every compound key `[first, anything]` (an array
/// sorts after every string or number, and `[first]` before every `[first, x]`).
pub(crate) fn keys_starting_with(first: &str) -> Result<JsValue> {
    let after_all: Array = [JsValue::from_str(first), Array::new().into()].into_iter().collect();
    between_keys(&array_of(&[first]), &after_all.into())
}

/// `IDBKeyRange.lowerBound(key, true)`: every key after `key`.
pub(crate) fn keys_after(key: &str) -> Result<JsValue> {
    web_sys::IdbKeyRange::lower_bound_with_open(&JsValue::from_str(key), true).map(JsValue::from).map_err(|error| js_error(error, "building a key range"))
}

/// The keys of the `byUncommitted` index (`[intentAt, sessionId, attachmentId]`) at or before
/// `older_than` and after `after` (exclusive; `None`: from the first). `[t, []]` sorts after
/// every `[t, session, id]`, as an array sorts after every string.
pub(crate) fn uncommitted_keys(older_than: f64, after: Option<(f64, &str, &str)>) -> Result<JsValue> {
    let upper: Array = [JsValue::from_f64(older_than), Array::new().into()].into_iter().collect();
    let range = match after {
        Some(after) => web_sys::IdbKeyRange::bound_with_lower_open_and_upper_open(&uncommitted_key(after), &upper, true, false),
        None => web_sys::IdbKeyRange::upper_bound(&upper),
    };
    range.map(JsValue::from).map_err(|error| js_error(error, "building a key range"))
}

/// `IDBKeyRange.bound(first, last)` over `byUncommitted` keys `[intentAt, sessionId, attachmentId]`.
pub(crate) fn uncommitted_between(first: (f64, &str, &str), last: (f64, &str, &str)) -> Result<JsValue> {
    between_keys(&uncommitted_key(first), &uncommitted_key(last))
}

/// A `byUncommitted` key: `[intentAt, sessionId, attachmentId]`.
fn uncommitted_key((at, session, id): (f64, &str, &str)) -> JsValue {
    [JsValue::from_f64(at), JsValue::from_str(session), JsValue::from_str(id)].into_iter().collect::<Array>().into()
}
