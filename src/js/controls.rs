//! Options of long calls (the sweep, `verify`): `{ signal?: AbortSignal, onProgress?: (done,
//! total) => void }`, checked once and handed to the Rust drivers as callbacks.

use std::cell::RefCell;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;

use super::convert::{self, field};
use super::error::from_thrown;
use crate::core::error::{AttachmentStoreError, Result};

/// A call's `signal` and `onProgress`, and the first error `onProgress` threw (which stops it).
pub(crate) struct Controls {
    signal: Option<JsValue>,
    on_progress: Option<Function>,
    failure: RefCell<Option<AttachmentStoreError>>,
}

impl Controls {
    /// Reads `options` (`undefined`, `null` or an object); `InvalidInput` for a bad member.
    pub(crate) fn read(options: &JsValue) -> Result<Self> {
        let mut controls = Self { signal: None, on_progress: None, failure: RefCell::new(None) };
        if convert::is_absent(options) {
            return Ok(controls);
        }
        convert::expect_object(options, &"options")?;
        let signal = field(options, "signal")?;
        if !convert::is_absent(&signal) {
            if field(&signal, "aborted").ok().is_none_or(|aborted| aborted.as_bool().is_none()) {
                return Err(AttachmentStoreError::invalid_input(format!("options.signal must be an AbortSignal, got {}", convert::describe_value(&signal))));
            }
            controls.signal = Some(signal);
        }
        let on_progress = field(options, "onProgress")?;
        if !convert::is_absent(&on_progress) {
            controls.on_progress =
                Some(on_progress.dyn_into().map_err(|other| AttachmentStoreError::invalid_input(format!("options.onProgress must be a function, got {}", convert::describe_value(&other))))?);
        }
        Ok(controls)
    }

    /// Whether the caller passed `onProgress` (without it, a sweep need not count its candidates).
    pub(crate) fn wants_progress(&self) -> bool {
        self.on_progress.is_some()
    }

    /// Calls `onProgress(done, total)`; if it throws, the call stops with that error.
    pub(crate) fn progress(&self, done: u64, total: u64) {
        if let Some(callback) = &self.on_progress {
            if let Err(thrown) = callback.call2(&JsValue::NULL, &(done as f64).into(), &(total as f64).into()) {
                self.failure.borrow_mut().get_or_insert(from_thrown(thrown, "options.onProgress threw"));
            }
        }
    }

    fn signal_aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(|signal| field(signal, "aborted").ok().and_then(|a| a.as_bool()) == Some(true))
    }

    /// Whether the call should stop: the signal aborted, or `onProgress` threw.
    pub(crate) fn should_stop(&self) -> bool {
        self.failure.borrow().is_some() || self.signal_aborted()
    }

    /// The call's outcome as the caller sees it: what `onProgress` threw first; an abort's error
    /// with the signal's `reason` as its cause.
    pub(crate) fn finish<T>(&self, outcome: Result<T>) -> Result<T> {
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        match outcome {
            Err(error) if self.signal_aborted() => {
                let reason = self.signal.as_ref().and_then(|signal| Reflect::get(signal, &"reason".into()).ok()).unwrap_or_default();
                Err(error.with_js_cause(reason))
            }
            outcome => outcome,
        }
    }
}
