// The large-attachment bench page (driven by bench/large.mjs, which measures the renderer's
// memory from outside): web-attachments against plain IndexedDB storing the File as a Blob after
// hashing it with hash-wasm's streaming SHA-256 (an id needs the hash). Each step is called by the
// driver through `window.bench`, so it can reset and read the renderer's peak memory around it.
import { createSHA256 } from "hash-wasm";
import { IndexedDbAttachmentStore, serveAttachment } from "/dist/index.js";
import { __wasmMemoryBytes } from "/dist/wasm/web_attachments.js";

const STORE = "large-bench-web-attachments";
const RAW = "large-bench-raw";

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

async function rawDb() {
  const open = indexedDB.open(RAW, 1);
  open.onupgradeneeded = () => open.result.createObjectStore("bytes");
  return request(open);
}

async function rawPut(db, key, value) {
  const tx = db.transaction("bytes", "readwrite");
  tx.objectStore("bytes").put(value, key);
  await new Promise((resolve, reject) => ((tx.oncomplete = resolve), (tx.onabort = () => reject(tx.error))));
}

const rawGet = (db, key) => request(db.transaction("bytes").objectStore("bytes").get(key));

/** hash-wasm's streaming SHA-256 over the Blob's stream, read into one reused buffer (as ours is). */
async function hashWasm(blob) {
  const hasher = await createSHA256();
  hasher.init();
  const reader = blob.stream().getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(1 << 20);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) break;
    hasher.update(value);
    buffer = value.buffer;
  }
  return hasher.digest("hex");
}

/**
 * Reads a stream to its end, keeping nothing, as a careful consumer does: a byte stream (a Blob's,
 * a Response's) into one reused buffer with a BYOB reader, so reading makes no garbage; others
 * chunk by chunk. Resolves with the byte count and the time to the first chunk.
 */
async function drain(stream, started) {
  let bytes = 0;
  let firstByteMs;
  let reader;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    reader = stream.getReader();
  }
  let buffer = new ArrayBuffer(1 << 20);
  for (;;) {
    const { done, value } = reader instanceof ReadableStreamBYOBReader ? await reader.read(new Uint8Array(buffer)) : await reader.read();
    if (done) break;
    firstByteMs ??= performance.now() - started;
    bytes += value.length;
    if (reader instanceof ReadableStreamBYOBReader) buffer = value.buffer;
  }
  return { bytes, firstByteMs };
}

// Main-thread tasks over 50 ms, as Chromium reports them.
let longest = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) longest = Math.max(longest, entry.duration);
}).observe({ type: "longtask", buffered: true });

let store;
let raw;
const ids = {};

/** One step: resets the long-task peak, times `fn`, returns its figures with the JS heap and wasm memory. */
async function step(fn) {
  longest = 0;
  const started = performance.now();
  const detail = await fn(started);
  const ms = performance.now() - started;
  await new Promise((r) => setTimeout(r, 50)); // let the last long task be reported
  return { ms, longestTaskMs: longest, jsHeapBytes: performance.memory?.usedJSHeapSize ?? 0, wasmBytes: __wasmMemoryBytes(), ...detail };
}

const file = () => document.querySelector("input[type=file]").files[0];

window.bench = {
  async setup() {
    // Our own connections first: a deleted database waits for every connection to close.
    store?.close();
    raw?.close();
    await IndexedDbAttachmentStore.deleteDatabase(STORE);
    await new Promise((resolve) => { const r = indexedDB.deleteDatabase(RAW); r.onsuccess = r.onerror = r.onblocked = resolve; });
    store = await IndexedDbAttachmentStore.open(STORE);
    raw = await rawDb();
    return { storesBlobs: await store.storesBlobs(), fileBytes: file().size, jsHeapBytes: performance.memory?.usedJSHeapSize ?? 0, wasmBytes: __wasmMemoryBytes() };
  },
  put: (system) => step(async () => {
    if (system === "web-attachments") {
      const ref = await store.put(file());
      ids[system] = ref.id;
    } else {
      const id = await hashWasm(file());
      await rawPut(raw, id, file());
      ids[system] = id;
    }
    return { id: ids[system] };
  }),
  /** getBlob (or plain get of the stored Blob): what it costs to have the Blob in hand. */
  getBlob: (system) => step(async () => {
    const blob = system === "web-attachments" ? await store.getBlob(ids[system]) : await rawGet(raw, ids[system]);
    return { bytes: blob.size };
  }),
  /** Reads everything back through getBlob().stream() (plain: the stored Blob's stream). */
  readBlobStream: (system) => step(async (started) => {
    const blob = system === "web-attachments" ? await store.getBlob(ids[system]) : await rawGet(raw, ids[system]);
    return drain(blob.stream(), started);
  }),
  /** Reads everything back through getStream (plain: the stored Blob's stream). */
  readStream: (system) => step(async (started) => {
    const stream = system === "web-attachments" ? await store.getStream(ids[system]) : (await rawGet(raw, ids[system])).stream();
    return drain(stream, started);
  }),
  /** serveAttachment's response body (plain: a Response of the stored Blob). */
  serve: (system) => step(async (started) => {
    const response = system === "web-attachments"
      ? await serveAttachment(new Request(new URL(`/attachments/${ids[system]}`, location.href)), store)
      : new Response(await rawGet(raw, ids[system]), { headers: { "content-type": "application/octet-stream" } });
    return drain(response.body, started);
  }),
  async clear() {
    for (const system of Object.keys(ids)) {
      if (system === "web-attachments") await store.delete(ids[system]);
      else {
        const tx = raw.transaction("bytes", "readwrite");
        tx.objectStore("bytes").delete(ids[system]);
        await new Promise((resolve) => (tx.oncomplete = resolve));
      }
      delete ids[system];
    }
  },
};
window.benchReady = true;
