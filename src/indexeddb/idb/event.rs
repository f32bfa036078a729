//! The callback-to-future bridge every request and transaction future is built on.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, IdbRequest, IdbTransaction};

/// Sets (`Some`) or clears (`None`) the event handler properties an [`EventFuture`] listens on.
pub(super) type Attach = fn(&JsValue, Option<&Function>);

pub(super) fn attach_request(target: &JsValue, listener: Option<&Function>) {
    let request: &IdbRequest = target.unchecked_ref();
    request.set_onsuccess(listener);
    request.set_onerror(listener);
}

pub(super) fn attach_transaction(target: &JsValue, listener: Option<&Function>) {
    let tx: &IdbTransaction = target.unchecked_ref();
    tx.set_oncomplete(listener);
    tx.set_onabort(listener);
    tx.set_onerror(listener);
}

/// Whether a request error bubbling to the transaction is an `add` finding its key taken, which
/// [`Store::add_unless_present`] means to tolerate (our schema has no unique index, so no other
/// request can raise it).
pub(super) fn is_key_taken(event: &Event) -> bool {
    event
        .target()
        .and_then(|target| target.dyn_into::<IdbRequest>().ok())
        .and_then(|request| request.error().ok().flatten())
        .is_some_and(|error| error.name() == "ConstraintError")
}

/// A callback-to-future bridge: one listener on a target's event handler properties, detached
/// again when the future is dropped (so no dropped closure is ever invoked).
pub(super) struct EventFuture {
    state: Rc<RefCell<EventState>>,
    target: JsValue,
    attach: Option<Attach>,
    _listener: Option<Closure<dyn FnMut(Event)>>,
}

#[derive(Default)]
struct EventState {
    outcome: Option<std::result::Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

impl EventFuture {
    /// Listens on `target` through `attach`; `settle` turns an event into the outcome, or `None`
    /// to keep waiting.
    pub(super) fn listen(
        target: &JsValue,
        attach: Attach,
        mut settle: impl FnMut(&Event) -> Option<std::result::Result<JsValue, JsValue>> + 'static,
    ) -> Self {
        let state = Rc::new(RefCell::new(EventState::default()));
        let shared = Rc::clone(&state);
        let listener = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            if let Some(outcome) = settle(&event) {
                let waker = {
                    let mut state = shared.borrow_mut();
                    state.outcome.get_or_insert(outcome);
                    state.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            }
        });
        attach(target, Some(listener.as_ref().unchecked_ref()));
        Self { state, target: target.clone(), attach: Some(attach), _listener: Some(listener) }
    }

    pub(super) fn ready(outcome: std::result::Result<JsValue, JsValue>) -> Self {
        let state = Rc::new(RefCell::new(EventState { outcome: Some(outcome), waker: None }));
        Self { state, target: JsValue::UNDEFINED, attach: None, _listener: None }
    }
}

impl Future for EventFuture {
    type Output = std::result::Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.state.borrow_mut();
        match state.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for EventFuture {
    fn drop(&mut self) {
        if let Some(attach) = self.attach {
            attach(&self.target, None);
        }
    }
}
