// web-attachments: the package entry. Importing it loads and instantiates the WebAssembly module
// (top-level await), so no init call is needed. The .wasm is found next to this file.
import init from "./wasm/web_attachments.js";

await init({ module_or_path: new URL("./wasm/web_attachments_bg.wasm", import.meta.url) });

export { AttachmentStoreError, ERROR_CODES } from "./errors.js";
export {
  IndexedDbAttachmentStore,
  IndexedDbAttachmentManifest,
  MemoryAttachmentStore,
  MemoryAttachmentManifest,
  SessionScopedAttachmentStore,
  contentId,
  contentIdOf,
  reclaimOrphanedAttachments,
  resolveLlmRequestAttachments,
} from "./wasm/web_attachments.js";
