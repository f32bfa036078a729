//! A request in flight, as a future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use wasm_bindgen::JsValue;
use web_sys::IdbRequest;

use super::event::{attach_request, EventFuture};
use super::super::error_map::js_error;
use crate::core::error::Result;

/// A request in flight: resolves with `request.result`, or fails with `request.error`.
pub(crate) struct Request {
    inner: EventFuture,
    context: &'static str,
}

impl Request {
    pub(super) fn issue(issued: std::result::Result<IdbRequest, JsValue>, context: &'static str) -> Self {
        let inner = match issued {
            Ok(request) => {
                let source = request.clone();
                // Success or error: `error` tells which without reading the event's type.
                EventFuture::listen(&request, attach_request, move |_| {
                    Some(match source.error() {
                        Ok(None) => source.result(),
                        Ok(Some(error)) => Err(error.into()),
                        Err(thrown) => Err(thrown),
                    })
                })
            }
            Err(thrown) => EventFuture::ready(Err(thrown)),
        };
        Self { inner, context }
    }
}

impl Future for Request {
    type Output = Result<JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let context = self.context;
        Pin::new(&mut self.inner).poll(cx).map(|outcome| outcome.map_err(|error| js_error(error, context)))
    }
}
