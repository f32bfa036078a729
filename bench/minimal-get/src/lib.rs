//! The least a wasm-bindgen get of one small record can do, for `bench/ab.mjs --minimal`: what
//! the wasm boundary costs by itself. No checks, no errors handled: a measuring stick only.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{Event, IdbDatabase, IdbRequest, IdbTransactionMode};

/// Reads `id` from the `bytes` store of `db` (in a transaction over `bytes` and `meta`, as the
/// library does) and resolves with `{ bytes: Uint8Array }` of the record's `bytes` buffer.
#[wasm_bindgen]
pub fn get(db: &IdbDatabase, id: &str) -> Promise {
    let stores: Array = ["bytes", "meta"].iter().map(|name| JsValue::from_str(name)).collect();
    let tx = db.transaction_with_str_sequence_and_mode(&stores, IdbTransactionMode::Readonly).unwrap_throw();
    let request: IdbRequest = tx.object_store("bytes").unwrap_throw().get(&JsValue::from_str(id)).unwrap_throw();
    let mut resolve = None;
    let promise = Promise::new(&mut |yes, _| resolve = Some(yes));
    let resolve = resolve.unwrap_throw();
    let source = request.clone();
    // The closure drops itself once called (wasm-bindgen defers the drop until it returns).
    let slot: Rc<RefCell<Option<Closure<dyn FnMut(Event)>>>> = Rc::default();
    let own = Rc::clone(&slot);
    let listener = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
        let record = source.result().unwrap_throw();
        let result = Object::new();
        let bytes = Reflect::get(&record, &"bytes".into()).unwrap_throw();
        Reflect::set(&result, &"bytes".into(), &Uint8Array::new(&bytes)).unwrap_throw();
        resolve.call1(&JsValue::NULL, &result).unwrap_throw();
        own.borrow_mut().take();
    });
    request.set_onsuccess(Some(listener.as_ref().unchecked_ref()));
    *slot.borrow_mut() = Some(listener);
    promise
}
