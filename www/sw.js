// Offline support: every file the shelf needs is cached on install; requests go to the network
// first (so a rebuilt package shows up) and fall back to the cache when offline.
const CACHE = "web-attachments-demo-v1";
const FILES = ["./", "./index.html", "./app.js", "./style.css", "../dist/index.js", "../dist/api.js", "../dist/errors.js", "../dist/wasm/web_attachments.js", "../dist/wasm/web_attachments_bg.wasm"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
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
