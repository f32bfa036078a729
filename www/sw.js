// The shelf's service worker (a module worker). It serves `attachments/<id>` straight from the
// store with serveAttachment: images, PDFs and videos load, and videos seek (range requests), from
// IndexedDB, offline too. Every other file is cached on install; those requests go to the network
// first (so a rebuilt package shows up) and fall back to the cache when offline.
import { IndexedDbAttachmentStore, serveAttachment } from "../dist/service-worker.js";

const CACHE = "web-attachments-demo-v2";
const FILES = [
  "./", "./index.html", "./app.js", "./style.css",
  "../dist/index.js", "../dist/api.js", "../dist/errors.js", "../dist/wasm/web_attachments.js", "../dist/wasm/web_attachments_bg.wasm",
];
const store = IndexedDbAttachmentStore.open("web-attachments-demo");
const prefix = new URL("./attachments/", self.registration.scope).pathname;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  if (new URL(event.request.url).pathname.startsWith(prefix)) {
    event.respondWith(store.then((opened) => serveAttachment(event.request, opened, { prefix })));
    return;
  }
  if (event.request.method !== "GET") return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })),
  );
});
