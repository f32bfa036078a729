// web-attachments for Cloudflare workerd: the runtime hands .wasm imports over compiled.
import wasmModule from "./wasm/web_attachments_bg.wasm";
import { initSync } from "./wasm/web_attachments.js";

initSync({ module: wasmModule });

export * from "./api.js";
