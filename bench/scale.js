// The scale bench's page side (bench/scale.mjs drives it): a store grown to N small attachments,
// web-attachments and raw IndexedDB side by side, and the per-operation cost of put, get, head and
// a 100-item list page at that size.
import { IndexedDbAttachmentStore } from "/dist/index.js";

const request = (r) => new Promise((ok, ko) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => ko(r.error))));
const done = (tx) => new Promise((ok, ko) => ((tx.oncomplete = ok), (tx.onabort = () => ko(tx.error))));

/** Item `i`'s 1 KiB: distinct, incompressible enough. */
function item(i, size = 1024) {
  const bytes = new Uint8Array(size);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let k = 0; k < size; k += 4) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    bytes[k] = x; bytes[k + 1] = x >>> 8; bytes[k + 2] = x >>> 16; bytes[k + 3] = x >>> 24;
  }
  return bytes;
}

/** Raw IndexedDB in this library's spirit: bytes keyed by their SHA-256, metadata apart. */
const raw = {
  async open() {
    const r = indexedDB.open("scale-raw", 1);
    r.onupgradeneeded = () => (r.result.createObjectStore("bytes"), r.result.createObjectStore("meta"));
    this.db = await request(r);
  },
  async putMany(items) {
    const ids = await Promise.all(items.map(async (bytes) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("")));
    const tx = this.db.transaction(["bytes", "meta"], "readwrite");
    items.forEach((bytes, i) => (tx.objectStore("bytes").put(bytes.slice().buffer, ids[i]), tx.objectStore("meta").put({ id: ids[i], mediaType: "application/octet-stream", byteLen: bytes.length }, ids[i])));
    await done(tx);
    return ids;
  },
  async put(bytes) {
    return (await this.putMany([bytes]))[0];
  },
  get(id) {
    const tx = this.db.transaction(["bytes", "meta"]);
    return Promise.all([request(tx.objectStore("bytes").get(id)), request(tx.objectStore("meta").get(id))]);
  },
  head(id) {
    return request(this.db.transaction("meta").objectStore("meta").get(id));
  },
  list(after) {
    return request(this.db.transaction("meta").objectStore("meta").getAll(IDBKeyRange.lowerBound(after, true), 100));
  },
};

const ours = {
  async open() {
    this.store = await IndexedDbAttachmentStore.open("scale-ours");
  },
  async putMany(items) {
    return (await this.store.putMany(items.map((bytes) => ({ bytes, meta: { mediaType: "application/octet-stream" } })))).map((ref) => ref.id);
  },
  async put(bytes) {
    return (await this.store.put(bytes, { mediaType: "application/octet-stream" })).id;
  },
  get(id) {
    return this.store.get(id);
  },
  head(id) {
    return this.store.head(id);
  },
  list(after) {
    return this.store.list({ after, limit: 100 });
  },
};

const systems = { "web-attachments": ours, "raw-indexeddb": raw };
const ids = { "web-attachments": [], "raw-indexeddb": [] };
let next = 0;

/** Grows both stores to `n` attachments (batches of 500, the same contents in both). */
export async function grow(n) {
  for (const system of Object.values(systems)) if (!system.opened) (await system.open(), (system.opened = true));
  while (next < n) {
    const batch = Array.from({ length: Math.min(500, n - next) }, (_, k) => item(next + k));
    for (const [name, system] of Object.entries(systems)) ids[name].push(...(await system.putMany(batch)));
    next += batch.length;
  }
  return next;
}

/** Microseconds per operation of each kind, each system, over `count` operations (interleaved). */
export async function measure(count) {
  const times = {};
  const add = (name, op, us) => ((times[name] ??= {}), (times[name][op] = (times[name][op] ?? 0) + us));
  for (let k = 0; k < count; k++) {
    const pick = Math.floor(Math.random() * next);
    const fresh = item(1e9 + next + k);
    const order = Object.entries(systems);
    for (const [name, system] of k % 2 ? order.reverse() : order) {
      const id = ids[name][pick];
      for (const [op, run] of [["get", () => system.get(id)], ["head", () => system.head(id)], ["list100", () => system.list(id)], ["put", () => system.put(fresh)]]) {
        const started = performance.now();
        await run();
        add(name, op, (performance.now() - started) * 1000);
      }
    }
  }
  for (const perOp of Object.values(times)) for (const op of Object.keys(perOp)) perOp[op] /= count;
  return times;
}
