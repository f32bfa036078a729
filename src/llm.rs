//! Filling LLM request attachments from the store.

use crate::core::error::Result;
use crate::core::meta::AttachmentRef;
use crate::store::AttachmentStore;

/// One attachment of an LLM request: inline `data`, or a `reference` to a stored attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlmRequestAttachment {
    /// The media type sent to the model.
    pub mime: String,
    /// The bytes sent to the model; `None` or empty means "load from `reference`".
    pub data: Option<Vec<u8>>,
    /// The stored attachment these bytes come from.
    pub reference: Option<AttachmentRef>,
}

/// For each attachment with a `reference` and no (or empty) `data`, loads the bytes and sets
/// `data` and `mime` (the stored media type); others are left as they are.
///
/// All loads happen before anything is changed, so on failure (the first one is returned) the
/// attachments are untouched.
pub async fn resolve_llm_request_attachments<S: AttachmentStore + ?Sized>(
    attachments: &mut [LlmRequestAttachment],
    store: &S,
) -> Result<()> {
    let mut loaded = Vec::new();
    for (index, attachment) in attachments.iter().enumerate() {
        let needs_bytes = attachment.data.as_ref().is_none_or(Vec::is_empty);
        if let (Some(reference), true) = (&attachment.reference, needs_bytes) {
            loaded.push((index, store.get(&reference.id).await?));
        }
    }
    for (index, stored) in loaded {
        attachments[index].mime = stored.meta.media_type.to_string();
        attachments[index].data = Some(stored.bytes);
    }
    Ok(())
}
