// The public API, listed once; every entry (browser, Node/Deno, service worker, workerd) first
// instantiates the WebAssembly its own way, then re-exports this.
export { AttachmentStoreError, ERROR_CODES } from "./errors.js";
export {
  DurableObjectAttachmentStore,
  DurableObjectAttachmentManifest,
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
} from "./wasm/web_attachments.js";
