//! The JavaScript API (feature `js`, wasm32): what the npm package exports.
//!
//! This layer only converts and validates: arguments arrive as `JsValue`s and are checked in
//! `convert` (wrong types reject `InvalidInput`, never trap), results leave as plain objects, and
//! errors cross in one place (`error`). Any store or manifest argument may be one of ours or one
//! implemented in JavaScript (`any`, `foreign`).

mod any;
mod classes;
mod controls;
mod convert;
mod error;
mod foreign;
mod functions;
mod serve;
mod stream;
mod task;
#[cfg(all(feature = "testing", feature = "durable-object"))]
mod testing;
