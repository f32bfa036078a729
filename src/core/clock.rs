//! Wall-clock time in epoch milliseconds, the manifest's unit.

/// Milliseconds since the Unix epoch, from `Date.now()` on wasm and the system clock elsewhere.
pub fn now_epoch_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }
}
