// A module service worker: top-level await is not allowed here, so it imports the
// service-worker entry, which compiles the embedded wasm synchronously.
import * as api from "/node_modules/web-attachments/dist/service-worker.js";
import { readShared, workerChecks, writeShared } from "./worker-checks.js";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("message", (event) => {
  const { data, ports } = event;
  const reply = (value) => ports[0].postMessage(value);
  const work =
    data.kind === "checks" ? workerChecks(api, "service worker").then(reply)
    : data.kind === "write" ? writeShared(api, data.database, "service-worker").then(reply)
    : readShared(api, data.database, data.id).then(reply);
  event.waitUntil(work);
});
