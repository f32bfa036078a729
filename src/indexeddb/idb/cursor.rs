//! Cursors, for what an upgrade must walk record by record.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, IdbIndex, IdbObjectStore, IdbRequest};

/// For an upgrade (which runs in an event callback, where no future can be awaited): walks every
/// record of `store` with a cursor, counts the entries of `index` under `key_of(record)`, and
/// rewrites the record with `rewrite(record, count)` when that gives a new value. One record at a
/// time, so memory stays bounded. A failed request aborts the upgrade transaction (the open then
/// fails and nothing is upgraded).
pub(crate) fn rewrite_each_by_count(
    store: &IdbObjectStore,
    index: IdbIndex,
    key_of: fn(&JsValue) -> Option<JsValue>,
    rewrite: fn(&JsValue, f64) -> Option<JsValue>,
) -> std::result::Result<(), JsValue> {
    let request = store.open_cursor()?;
    let on_cursor = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let Some(request) = event.target().and_then(|target| target.dyn_into::<IdbRequest>().ok()) else { return };
        let Some(cursor) = request.result().ok().filter(|cursor| !cursor.is_null()) else { return };
        let cursor: web_sys::IdbCursorWithValue = cursor.unchecked_into();
        let record = cursor.value().unwrap_or_default();
        let Some(counted) = key_of(&record).and_then(|key| index.count_with_key(&key).ok()) else {
            let _ = cursor.continue_();
            return;
        };
        let source = counted.clone();
        let on_count = Closure::once_into_js(move |_: Event| {
            let count = source.result().ok().and_then(|count| count.as_f64()).unwrap_or(f64::NAN);
            if let Some(rewritten) = rewrite(&record, count) {
                let _ = cursor.update(&rewritten);
            }
            let _ = cursor.continue_();
        });
        counted.set_onsuccess(Some(on_count.unchecked_ref()));
    });
    request.set_onsuccess(Some(on_cursor.into_js_value().unchecked_ref()));
    Ok(())
}

/// For an upgrade: walks every record of `store` with a cursor and rewrites it with
/// `rewrite(record)` when that gives a new value. One record at a time, as above.
pub(crate) fn rewrite_each(store: &IdbObjectStore, rewrite: fn(&JsValue) -> Option<JsValue>) -> std::result::Result<(), JsValue> {
    let request = store.open_cursor()?;
    let on_cursor = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        let Some(request) = event.target().and_then(|target| target.dyn_into::<IdbRequest>().ok()) else { return };
        let Some(cursor) = request.result().ok().filter(|cursor| !cursor.is_null()) else { return };
        let cursor: web_sys::IdbCursorWithValue = cursor.unchecked_into();
        if let Some(rewritten) = rewrite(&cursor.value().unwrap_or_default()) {
            let _ = cursor.update(&rewritten);
        }
        let _ = cursor.continue_();
    });
    request.set_onsuccess(Some(on_cursor.into_js_value().unchecked_ref()));
    Ok(())
}
