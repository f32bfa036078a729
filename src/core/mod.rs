//! The pure core: ids, media types, metadata, errors and the manifest and sweep rules.
//! No storage and no browser here, so all of it is tested natively with `cargo test`.

pub mod byte_range;
pub mod clock;
pub mod data_url;
pub mod error;
pub mod id;
pub mod manifest_rules;
pub mod media_type;
pub mod meta;
pub mod session_rules;
pub mod sweep_rules;
