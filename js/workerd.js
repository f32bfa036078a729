// web-attachments for Cloudflare workerd: the runtime hands .wasm imports over compiled. workerd
// gets its own flavour of the wasm, the only one with the Durable Object store.
import wasmModule from "./wasm-workerd/web_attachments_bg.wasm";
import { initSync } from "./wasm-workerd/web_attachments.js";

initSync({ module: wasmModule });

export * from "./api-workerd.js";
