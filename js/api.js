// The public API, listed once; every entry (browser, Node/Deno, service worker) first
// instantiates the WebAssembly its own way, then re-exports this. workerd's entry re-exports
// api-workerd.js, which the build derives from this list (plus the Durable Object store).
export { AttachmentStoreError, ERROR_CODES } from "./errors.js";
export {
  IndexedDbAttachmentStore,
  IndexedDbAttachmentManifest,
  MemoryAttachmentStore,
  MemoryAttachmentManifest,
  SessionScopedAttachmentStore,
  contentId,
  contentIdOf,
  openAttachmentStore,
  reclaimOrphanedAttachments,
  resolveLlmRequestAttachments,
  serveAttachment,
} from "./wasm/web_attachments.js";
