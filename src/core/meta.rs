//! What is stored beside the bytes: media type, size, optional dimensions and label.

use serde::{Deserialize, Serialize};

use super::error::Result;
use super::id::AttachmentId;
use super::media_type::MediaType;

/// What a caller says about bytes it puts. The id and length are derived from the bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentCreateMeta {
    /// The bytes' media type.
    pub media_type: MediaType,
    /// Pixel width, for images and video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixel height, for images and video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// A caller-chosen label (e.g. the original file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl AttachmentCreateMeta {
    /// Metadata with just a media type, validated and normalised.
    pub fn new(media_type: &str) -> Result<Self> {
        Ok(Self { media_type: MediaType::parse(media_type)?, width: None, height: None, label: None })
    }

    /// Adds pixel dimensions.
    pub fn with_dimensions(mut self, width: u32, height: u32) -> Self {
        self.width = Some(width);
        self.height = Some(height);
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The full reference for `bytes` whose id is `id`.
    pub fn into_ref(self, id: AttachmentId, byte_len: u64) -> AttachmentRef {
        AttachmentRef {
            id,
            media_type: self.media_type,
            byte_len,
            width: self.width,
            height: self.height,
            label: self.label,
        }
    }
}

/// A stored attachment's metadata: everything but the bytes. What `put` returns and `head` reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRef {
    /// SHA-256 of the bytes.
    pub id: AttachmentId,
    /// The bytes' media type.
    pub media_type: MediaType,
    /// Length of the bytes.
    pub byte_len: u64,
    /// Pixel width, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Pixel height, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Label, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// The contract names a stored attachment's metadata `AttachmentMeta`; it is the same shape.
pub type AttachmentMeta = AttachmentRef;

/// An attachment read back: metadata and bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAttachment {
    /// The metadata.
    pub meta: AttachmentMeta,
    /// The bytes, owned by the caller.
    pub bytes: Vec<u8>,
}
