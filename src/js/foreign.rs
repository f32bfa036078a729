//! Stores and manifests implemented in JavaScript, seen through the Rust traits, so the session
//! wrapper, the sweep and the LLM helper work on them exactly as on ours.

use async_trait::async_trait;
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::convert::describe_value;
use super::error::from_thrown;
use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::{select_uncommitted_page, AttachmentIntent, AttachmentManifestEntry};
use crate::core::meta::{AttachmentCreateMeta, AttachmentRef, StoredAttachment};
use crate::manifest::AttachmentManifest;
use crate::records::{decode_returned, decode_returned_list, ToJs};
use crate::session_state::SessionState;
use crate::store::{AttachmentStore, AttachmentStorePersistence};

/// Checks that `object` has every method in `methods`, so a wrong argument fails at once and
/// clearly rather than half-way through an operation.
fn check_methods(object: &JsValue, what: &str, methods: &[&str]) -> Result<()> {
    if !object.is_object() {
        return Err(AttachmentStoreError::invalid_input(format!("{what} must be an object, got {}", describe_value(object))));
    }
    for method in methods {
        let value = Reflect::get(object, &JsValue::from_str(method)).unwrap_or(JsValue::UNDEFINED);
        if !value.is_function() {
            return Err(AttachmentStoreError::invalid_input(format!("{what} has no `{method}` method")));
        }
    }
    Ok(())
}

/// Calls `object.method(...args)` and awaits the result if it is a promise.
async fn call(object: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue> {
    let doing = format!("{method}() of a JavaScript-implemented store or manifest");
    let function: Function = Reflect::get(object, &JsValue::from_str(method))
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| AttachmentStoreError::invalid_input(format!("no `{method}` method")))?;
    let returned = function.apply(object, &args.iter().collect::<Array>()).map_err(|e| from_thrown(e, &doing))?;
    JsFuture::from(Promise::resolve(&returned)).await.map_err(|e| from_thrown(e, &doing))
}

/// A store implemented in JavaScript (`put`, `get`, `head`, `list`, `delete`, `persistence`).
#[derive(Clone)]
pub(crate) struct JsStore(JsValue);

impl JsStore {
    pub(crate) fn new(object: JsValue) -> Result<Self> {
        check_methods(&object, "the store", &["put", "get", "head", "list", "delete"])?;
        Ok(Self(object))
    }

    /// `put` with the bytes still a JavaScript view (no copy through wasm).
    pub(crate) async fn put_view(&self, bytes: &Uint8Array, meta: &AttachmentCreateMeta) -> Result<AttachmentRef> {
        let returned = call(&self.0, "put", &[bytes.into(), meta.to_js()]).await?;
        decode_returned(&returned, "the AttachmentRef the store's put returned")
    }

    /// `get` with the bytes left a JavaScript view.
    pub(crate) async fn get_view(&self, id: &AttachmentId) -> Result<(AttachmentRef, Uint8Array)> {
        let returned = call(&self.0, "get", &[id.as_str().into()]).await?;
        let meta = decode_returned(&Reflect::get(&returned, &"meta".into()).unwrap_or_default(), "the meta the store's get returned")?;
        let bytes = Reflect::get(&returned, &"bytes".into()).unwrap_or_default();
        let bytes = bytes.dyn_into::<Uint8Array>().map_err(|_| AttachmentStoreError::backend("the store's get returned no Uint8Array `bytes`"))?;
        Ok((meta, bytes))
    }
}

#[async_trait(?Send)]
impl AttachmentStore for JsStore {
    async fn put(&self, bytes: &[u8], meta: AttachmentCreateMeta) -> Result<AttachmentRef> {
        self.put_view(&Uint8Array::from(bytes), &meta).await
    }

    async fn get(&self, id: &AttachmentId) -> Result<StoredAttachment> {
        let (meta, bytes) = self.get_view(id).await?;
        Ok(StoredAttachment { meta, bytes: bytes.to_vec() })
    }

    async fn head(&self, id: &AttachmentId) -> Result<Option<AttachmentRef>> {
        let returned = call(&self.0, "head", &[id.as_str().into()]).await?;
        if returned.is_undefined() || returned.is_null() {
            Ok(None)
        } else {
            decode_returned(&returned, "the AttachmentRef the store's head returned").map(Some)
        }
    }

    async fn list(&self) -> Result<Vec<AttachmentRef>> {
        decode_returned_list(&call(&self.0, "list", &[]).await?, "the list the store returned")
    }

    async fn delete(&self, id: &AttachmentId) -> Result<()> {
        call(&self.0, "delete", &[id.as_str().into()]).await.map(drop)
    }

    fn persistence(&self) -> AttachmentStorePersistence {
        let declared = Reflect::get(&self.0, &"persistence".into()).ok().and_then(|value| value.as_string());
        match declared.as_deref() {
            Some("durable") => AttachmentStorePersistence::Durable,
            _ => AttachmentStorePersistence::Ephemeral,
        }
    }
}

/// A manifest implemented in JavaScript. Besides the contract's four methods it needs
/// `entriesFor(attachmentId)`: the sweep must see every row of a content (committed ones too)
/// before it may delete shared bytes, and no other method shows committed rows. Optional:
/// `commitSession(sessionId, ids, state)` (stamps and state in one write: needed by
/// `commit(state)`), `sessionState(sessionId)` and `releaseSession(sessionId)`.
#[derive(Clone)]
pub(crate) struct JsManifest(JsValue);

impl JsManifest {
    pub(crate) fn new(object: JsValue) -> Result<Self> {
        check_methods(&object, "the manifest", &["recordIntent", "commitRefs", "listUncommitted", "forget", "entriesFor"])?;
        Ok(Self(object))
    }

    /// Whether the manifest has the optional method `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        Reflect::get(&self.0, &JsValue::from_str(name)).is_ok_and(|method| method.is_function())
    }
}

/// A state as JavaScript sees it: the value given, or bytes as a `Uint8Array`.
pub(crate) fn state_to_js(state: &SessionState) -> JsValue {
    match state {
        SessionState::Bytes(bytes) => Uint8Array::from(bytes.as_slice()).into(),
        SessionState::Js(value) => value.clone(),
    }
}

#[async_trait(?Send)]
impl AttachmentManifest for JsManifest {
    async fn record_intent(&self, intent: &AttachmentIntent) -> Result<()> {
        call(&self.0, "recordIntent", &[intent.to_js()]).await.map(drop)
    }

    async fn commit_refs(&self, session_id: &str, ids: &[AttachmentId]) -> Result<()> {
        let ids: Array = ids.iter().map(|id| JsValue::from_str(id.as_str())).collect();
        call(&self.0, "commitRefs", &[session_id.into(), ids.into()]).await.map(drop)
    }

    async fn list_uncommitted(&self, older_than_epoch_ms: i64) -> Result<Vec<AttachmentManifestEntry>> {
        let rows = call(&self.0, "listUncommitted", &[JsValue::from_f64(older_than_epoch_ms as f64)]).await?;
        decode_returned_list(&rows, "the rows listUncommitted returned")
    }

    /// `listUncommitted(olderThan, { after, limit })`, held to the page here: a manifest written
    /// before paging ignores the options and returns every row.
    async fn list_uncommitted_page(&self, older_than_epoch_ms: i64, after: Option<&AttachmentManifestEntry>, limit: usize) -> Result<Vec<AttachmentManifestEntry>> {
        let options = js_sys::Object::new();
        // Setting a data property on a fresh plain object cannot fail.
        let _ = Reflect::set(&options, &"limit".into(), &JsValue::from_f64(limit as f64));
        if let Some(after) = after {
            let _ = Reflect::set(&options, &"after".into(), &after.to_js());
        }
        let rows = call(&self.0, "listUncommitted", &[JsValue::from_f64(older_than_epoch_ms as f64), options.into()]).await?;
        let rows = decode_returned_list(&rows, "the rows listUncommitted returned")?;
        Ok(select_uncommitted_page(&rows, older_than_epoch_ms, after, limit))
    }

    async fn forget(&self, attachment_id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        let session = session_id.map_or(JsValue::UNDEFINED, JsValue::from_str);
        call(&self.0, "forget", &[attachment_id.as_str().into(), session]).await.map(drop)
    }

    async fn entries_for(&self, attachment_id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        decode_returned_list(&call(&self.0, "entriesFor", &[attachment_id.as_str().into()]).await?, "the rows entriesFor returned")
    }

    /// With a state, `commitSession(sessionId, ids, state)` (which the manifest must have);
    /// without one, `commitRefs`, so `commitSession` always gets a state to save.
    async fn commit_session(&self, session_id: &str, ids: &[AttachmentId], state: Option<&SessionState>) -> Result<()> {
        let Some(state) = state else {
            return self.commit_refs(session_id, ids).await;
        };
        if !self.has("commitSession") {
            return Err(AttachmentStoreError::invalid_input("commit(state) needs a manifest with commitSession(sessionId, ids, state); this one has none"));
        }
        let ids: Array = ids.iter().map(|id| JsValue::from_str(id.as_str())).collect();
        call(&self.0, "commitSession", &[session_id.into(), ids.into(), state_to_js(state)]).await.map(drop)
    }

    /// `sessionState(sessionId)` when the manifest has it; else it keeps none.
    async fn session_state(&self, session_id: &str) -> Result<Option<SessionState>> {
        if !self.has("sessionState") {
            return Ok(None);
        }
        let state = call(&self.0, "sessionState", &[session_id.into()]).await?;
        Ok((!state.is_undefined()).then_some(SessionState::Js(state)))
    }

    async fn release_session(&self, session_id: &str) -> Result<()> {
        if !self.has("releaseSession") {
            return Err(AttachmentStoreError::invalid_input("releaseSession needs a manifest with releaseSession(sessionId); this one has none"));
        }
        call(&self.0, "releaseSession", &[session_id.into()]).await.map(drop)
    }
}
