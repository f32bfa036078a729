// web-attachments for service workers, where top-level await is not allowed: the .wasm is
// embedded (base64) and compiled synchronously, which workers permit.
import { initSync } from "./wasm/web_attachments.js";
import { wasmBase64 } from "./wasm/web_attachments_bg.wasm.base64.js";

initSync({ module: Uint8Array.from(atob(wasmBase64), (c) => c.charCodeAt(0)) });

export * from "./api.js";
