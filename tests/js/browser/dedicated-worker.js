// A dedicated module worker using the default entry (workers have no import maps: a path).
import * as api from "/node_modules/web-attachments/dist/index.js";
import { readShared, workerChecks, writeShared } from "./worker-checks.js";

self.onmessage = async ({ data }) => {
  if (data.kind === "checks") self.postMessage(await workerChecks(api, "dedicated worker"));
  if (data.kind === "write") self.postMessage(await writeShared(api, data.database, "dedicated-worker"));
  if (data.kind === "read") self.postMessage(await readShared(api, data.database, data.id));
};
// Messages sent before the module (and its top-level await) finished could find no handler:
// say when we listen.
self.postMessage({ ready: true });
