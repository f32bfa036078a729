//! `indexedDB` itself: where it is found, and deleting a database.

use js_sys::Reflect;
use wasm_bindgen::JsCast;
use web_sys::IdbFactory;

use super::request::Request;
use super::super::error_map::js_error;
use crate::core::error::{AttachmentStoreError, Result};

/// Deletes database `name` (resolves once no connection holds it open).
pub(crate) async fn delete_database(name: &str) -> Result<()> {
    let request = factory()?.delete_database(name).map_err(|error| js_error(error, "deleting the database"))?;
    Request::issue(Ok(request.unchecked_into()), "deleting the database").await.map(drop)
}

/// `indexedDB` from the global scope, so windows and workers alike work.
pub(super) fn factory() -> Result<IdbFactory> {
    let global = js_sys::global();
    match Reflect::get(&global, &"indexedDB".into()) {
        Ok(value) if !value.is_undefined() && !value.is_null() => Ok(value.unchecked_into()),
        _ => Err(AttachmentStoreError::backend("IndexedDB is not available in this JavaScript environment")),
    }
}
