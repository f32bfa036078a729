// web-attachments for Node and Deno: the .wasm is read from disk and instantiated synchronously.
// There is no IndexedDB there: use MemoryAttachmentStore, or openAttachmentStore(), which picks it.
import { readFileSync } from "node:fs";
import { initSync } from "./wasm/web_attachments.js";

initSync({ module: readFileSync(new URL("./wasm/web_attachments_bg.wasm", import.meta.url)) });

export * from "./api.js";
