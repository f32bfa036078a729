//! The one module that touches a Durable Object's storage API (`ctx.storage`): calls, awaiting,
//! transactions and error mapping.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Function, Map, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::core::error::{AttachmentStoreError, ErrorCode, Result};

#[wasm_bindgen]
extern "C" {
    /// `DurableObjectStorage`, or a transaction of it (the same methods).
    #[derive(Clone)]
    pub type RawStorage;

    #[wasm_bindgen(method, catch, js_name = get)]
    fn raw_get(this: &RawStorage, key: &str) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = put)]
    fn raw_put(this: &RawStorage, key: &str, value: &JsValue) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn raw_delete(this: &RawStorage, keys: &Array) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = list)]
    fn raw_list(this: &RawStorage, options: &Object) -> std::result::Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn raw_transaction(this: &RawStorage, body: &Function) -> std::result::Result<Promise, JsValue>;
}

/// The storage refuses more keys than this in one `delete`.
const MAX_KEYS_PER_CALL: usize = 128;

/// Storage errors, with the thrown value as cause: the only place they are classified.
/// - `SQLITE_FULL` ("database or disk is full": the object's storage limit, or
///   `setMaxPageCountForTest`): `QuotaExceeded`. The transaction rolls back whole; workerd then
///   resets the object, so its caller may see the request fail instead.
/// - `DataCloneError` (a value the storage cannot serialise, such as a session state holding a
///   function): `InvalidInput`.
/// - anything else: `Backend` (a `RangeError` for a value over the limit says which limit: a
///   KV-backed class's 128 KiB, where chunks of 1 MiB do not fit).
fn storage_error(cause: JsValue, doing: &str) -> AttachmentStoreError {
    let text = |name: &str| Reflect::get(&cause, &name.into()).ok().and_then(|m| m.as_string());
    let message = text("message").or_else(|| cause.as_string()).unwrap_or_default();
    let name = text("name");
    let (code, hint) = match name.as_deref() {
        _ if message.contains("SQLITE_FULL") || message.contains("disk is full") => (ErrorCode::QuotaExceeded, " (the object's storage is full; nothing was written)"),
        Some("DataCloneError") => (ErrorCode::InvalidInput, ""),
        Some("RangeError") => (ErrorCode::Backend, " (a value over the storage's limit: KV-backed classes allow 128 KiB; use a SQLite-backed class)"),
        _ => (ErrorCode::Backend, ""),
    };
    AttachmentStoreError::new(code, format!("Durable Object storage failed {doing}: {message}{hint}")).with_js_cause(cause)
}

async fn settle(call: std::result::Result<Promise, JsValue>, doing: &str) -> Result<JsValue> {
    let promise = call.map_err(|e| storage_error(e, doing))?;
    JsFuture::from(promise).await.map_err(|e| storage_error(e, doing))
}

/// Reads and writes on the storage or inside one of its transactions.
#[derive(Clone)]
pub(crate) struct Ops(RawStorage);

impl Ops {
    pub(crate) async fn get(&self, key: &str) -> Result<Option<JsValue>> {
        let value = settle(self.0.raw_get(key), "reading").await?;
        Ok(if value.is_undefined() { None } else { Some(value) })
    }

    pub(crate) async fn put(&self, key: &str, value: &JsValue) -> Result<()> {
        settle(self.0.raw_put(key, value), "writing").await.map(drop)
    }

    pub(crate) async fn delete(&self, keys: &[String]) -> Result<()> {
        for batch in keys.chunks(MAX_KEYS_PER_CALL) {
            let batch: Array = batch.iter().map(|key| JsValue::from_str(key)).collect();
            settle(self.0.raw_delete(&batch), "deleting").await?;
        }
        Ok(())
    }

    /// Every `(key, value)` whose key starts with `prefix`, in key order.
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<(String, JsValue)>> {
        self.list_page(prefix, None, None).await
    }

    /// The `(key, value)`s whose key starts with `prefix`, after `start_after` (exclusive), at
    /// most `limit` of them, in key order: the storage reads no more.
    pub(crate) async fn list_page(&self, prefix: &str, start_after: Option<&str>, limit: Option<usize>) -> Result<Vec<(String, JsValue)>> {
        let options = Object::new();
        let _ = Reflect::set(&options, &"prefix".into(), &prefix.into());
        if let Some(start_after) = start_after {
            let _ = Reflect::set(&options, &"startAfter".into(), &start_after.into());
        }
        // The storage takes a 32-bit signed limit; one above it is no limit.
        if let Some(limit) = limit.filter(|&limit| limit <= i32::MAX as usize) {
            let _ = Reflect::set(&options, &"limit".into(), &(limit as f64).into());
        }
        let map: Map = settle(self.0.raw_list(&options), "listing").await?.unchecked_into();
        let mut entries = Vec::with_capacity(map.size() as usize);
        map.for_each(&mut |value, key| entries.push((key.as_string().unwrap_or_default(), value)));
        Ok(entries)
    }
}

/// A Durable Object's storage.
#[derive(Clone)]
pub(crate) struct Storage(RawStorage);

impl Storage {
    /// Checks that `value` looks like `ctx.storage`, of a SQLite-backed class: a KV-backed one
    /// (whose `sql` throws when read) caps values at 128 KiB, under this store's 1 MiB chunks, so
    /// it is refused here rather than by a put that fails.
    pub(crate) fn new(value: JsValue) -> Result<Self> {
        let has = |name: &str| Reflect::get(&value, &name.into()).is_ok_and(|f| f.is_function());
        if !(value.is_object() && ["get", "put", "delete", "list", "transaction"].iter().all(|name| has(name))) {
            return Err(AttachmentStoreError::invalid_input("expected a Durable Object's storage (ctx.storage)"));
        }
        if let Err(thrown) = Reflect::get(&value, &"sql".into()) {
            let why = Reflect::get(&thrown, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_default();
            return Err(AttachmentStoreError::invalid_input(format!(
                "this Durable Object class is KV-backed ({why}): web-attachments needs a SQLite-backed class (new_sqlite_classes in its migration; enableSql in workerd), whose values may hold its 1 MiB chunks"
            )));
        }
        Ok(Self(value.unchecked_into()))
    }

    /// Reads outside a transaction.
    pub(crate) fn ops(&self) -> Ops {
        Ops(self.0.clone())
    }

    /// Runs `body` in `storage.transaction()`: all of its writes land, or none (a failing body
    /// rolls back). The body owns what it uses: the transaction calls it back from JavaScript.
    pub(crate) async fn transaction<T: 'static>(&self, body: impl AsyncFnOnce(Ops) -> Result<T> + 'static) -> Result<T> {
        let outcome: Rc<RefCell<Option<Result<T>>>> = Rc::default();
        let slot = Rc::clone(&outcome);
        let callback = Closure::once_into_js(move |txn: JsValue| -> Promise {
            future_to_promise(async move {
                let result = body(Ops(txn.unchecked_into())).await;
                let failed = result.is_err();
                *slot.borrow_mut() = Some(result);
                if failed {
                    Err(JsValue::from_str("web-attachments: rolling back"))
                } else {
                    Ok(JsValue::UNDEFINED)
                }
            })
        });
        let settled = settle(self.0.raw_transaction(callback.unchecked_ref()), "in a transaction").await;
        let body_outcome = outcome.borrow_mut().take();
        match (body_outcome, settled) {
            (Some(Err(error)), _) => Err(error),
            (_, Err(error)) => Err(error),
            (Some(Ok(value)), Ok(_)) => Ok(value),
            (None, Ok(_)) => Err(AttachmentStoreError::backend("the transaction finished without running its body")),
        }
    }
}
