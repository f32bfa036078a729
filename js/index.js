// web-attachments for browsers, bundlers and module workers: importing it fetches and
// instantiates the .wasm beside this file (top-level await), so no init call is needed.
import init from "./wasm/web_attachments.js";

await init({ module_or_path: new URL("./wasm/web_attachments_bg.wasm", import.meta.url) });

export * from "./api.js";
