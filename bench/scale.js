// The scale bench's page side (bench/scale.mjs drives it): a store grown to N small attachments,
// web-attachments and raw IndexedDB side by side, and the per-operation cost of put, get, head and
// a 100-item list page at that size; a sweep of N orphans in each; and the cost of listing and
// sweeping a few orphans among many committed manifest rows.
import { IndexedDbAttachmentStore, reclaimOrphanedAttachments } from "/dist/index.js";

const request = (r) => new Promise((ok, ko) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => ko(r.error))));
const done = (tx) => new Promise((ok, ko) => ((tx.oncomplete = ok), (tx.onabort = () => ko(tx.error))));

/** The SHA-256 of each of `items`, in hex: the ids raw IndexedDB keys them by, as web-attachments does. */
const sha256Hex = (items) => Promise.all(items.map(async (bytes) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("")));

/** Item `i`'s 1 KiB: distinct, incompressible enough. */
function item(i, size = 1024) {
  // Distinct bytes for distinct i: an odd multiplier and xorshift are both one-to-one on 32 bits.
  // (A plain `i * 2654435761` loses its low bits to rounding above 2^53, and ids from 2e9 up
  // then shared their bytes: an orphan with a committed row's bytes is rightly not reclaimed.)
  if (!(i >= 0 && i < 2 ** 32 - 1)) throw new RangeError(`item ${i}: 0 to 2^32 - 2`);
  const bytes = new Uint8Array(size);
  let x = Math.imul(i + 1, 2654435761) >>> 0; // never 0, which xorshift would keep at 0
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
    const ids = await sha256Hex(items);
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

/** Grows both stores to `n` attachments of `size` bytes (batches of 500 or 16 MiB, the same contents in both). */
export async function grow(n, size = 1024) {
  for (const system of Object.values(systems)) if (!system.opened) (await system.open(), (system.opened = true));
  const perBatch = Math.max(1, Math.min(500, Math.floor((16 << 20) / size)));
  while (next < n) {
    const batch = Array.from({ length: Math.min(perBatch, n - next) }, (_, k) => item(next + k, size));
    for (const [name, system] of Object.entries(systems)) ids[name].push(...(await system.putMany(batch)));
    next += batch.length;
  }
  return next;
}

/** How many new items `measure` has put: each of its puts stores bytes never stored before. */
let measuredPuts = 0;

/** Microseconds per operation of each kind, each system, over `count` operations (interleaved). */
export async function measure(count, size = 1024) {
  const times = {};
  const add = (name, op, us) => ((times[name] ??= {}), (times[name][op] = (times[name][op] ?? 0) + us));
  for (let k = 0; k < count; k++) {
    const pick = Math.floor(Math.random() * next);
    const fresh = item(1e9 + measuredPuts++, size);
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

// ---- The sweep: N orphans, web-attachments' sweep beside raw IndexedDB doing the same ----

/**
 * Raw IndexedDB with what a sweep needs: bytes, metadata and an intent row per attachment, the
 * rows indexed by intent time; its sweep reads 500 rows at a time from the index and deletes them
 * with their bytes and metadata, one transaction per page.
 */
const rawSweep = {
  async open() {
    await request(indexedDB.deleteDatabase("sweep-raw"));
    const r = indexedDB.open("sweep-raw", 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore("bytes");
      r.result.createObjectStore("meta");
      r.result.createObjectStore("rows").createIndex("byIntentAt", "intentAt");
    };
    this.db = await request(r);
  },
  async plant(items) {
    const ids = await sha256Hex(items);
    const tx = this.db.transaction(["bytes", "meta", "rows"], "readwrite");
    const now = Date.now();
    items.forEach((bytes, i) => {
      tx.objectStore("rows").put({ id: ids[i], session: "orphans", intentAt: now }, ids[i]);
      tx.objectStore("bytes").put(bytes.slice().buffer, ids[i]);
      tx.objectStore("meta").put({ id: ids[i], mediaType: "application/octet-stream", byteLen: bytes.length }, ids[i]);
    });
    await done(tx);
  },
  async sweep(olderThan) {
    let deleted = 0;
    for (;;) {
      const tx = this.db.transaction(["bytes", "meta", "rows"], "readwrite");
      const rows = await request(tx.objectStore("rows").index("byIntentAt").getAll(IDBKeyRange.upperBound(olderThan), 500));
      for (const row of rows) for (const name of ["rows", "bytes", "meta"]) tx.objectStore(name).delete(row.id);
      await done(tx);
      deleted += rows.length;
      if (rows.length < 500) return deleted;
    }
  },
};

const oursSweep = {
  async open() {
    await IndexedDbAttachmentStore.deleteDatabase("sweep-ours");
    this.store = await IndexedDbAttachmentStore.open("sweep-ours");
  },
  async plant(items) {
    await this.store.session("orphans").putMany(items.map((bytes) => ({ bytes, meta: { mediaType: "application/octet-stream" } })));
  },
  async sweep(olderThan) {
    return (await reclaimOrphanedAttachments(this.store.manifest, this.store, olderThan)).deletedCount;
  },
};

const sweepers = { "web-attachments": oursSweep, "raw-indexeddb": rawSweep };

/** Plants `n` orphans of `size` bytes in `system`'s fresh database. */
export async function plantOrphans(system, n, size = 1024) {
  const sweeper = sweepers[system];
  await sweeper.open();
  for (let at = 0; at < n; at += 500) await sweeper.plant(Array.from({ length: Math.min(500, n - at) }, (_, k) => item(2e9 + at + k, size)));
  return n;
}

/** Sweeps every orphan of `system`: how long it took and how many it deleted. */
export async function sweepOrphans(system) {
  const started = performance.now();
  const deleted = await sweepers[system].sweep(Date.now() + 1);
  return { ms: performance.now() - started, deleted };
}

// ---- Committed manifest rows: a few orphans among many ----

/**
 * Raw IndexedDB keeping manifest rows as a store would by hand: rows keyed `[session, id]`, the
 * uncommitted ones indexed by `[uncommittedAt, session, id]` (a commit rewrites the row without
 * that property), bytes and metadata apart; its sweep reads 500 rows at a time from the index and
 * deletes them with their bytes and metadata. Nothing clears the index entries Chromium leaves
 * behind (see src/indexeddb/tombstones.rs): the baseline for what they cost.
 */
const rawRows = {
  async open() {
    await request(indexedDB.deleteDatabase("rows-raw"));
    const r = indexedDB.open("rows-raw", 1);
    r.onupgradeneeded = () => {
      r.result.createObjectStore("bytes");
      r.result.createObjectStore("meta");
      r.result.createObjectStore("rows", { keyPath: ["session", "id"] }).createIndex("byUncommitted", ["uncommittedAt", "session", "id"]);
    };
    this.db = await request(r);
  },
  async putMany(session, items) {
    const ids = await sha256Hex(items);
    const tx = this.db.transaction(["bytes", "meta", "rows"], "readwrite");
    const now = Date.now();
    items.forEach((bytes, i) => {
      tx.objectStore("rows").put({ session, id: ids[i], intentAt: now, uncommittedAt: now });
      tx.objectStore("bytes").put(bytes.slice().buffer, ids[i]);
      tx.objectStore("meta").put({ id: ids[i], mediaType: "application/octet-stream", byteLen: bytes.length }, ids[i]);
    });
    await done(tx);
  },
  async commit(session) {
    const tx = this.db.transaction("rows", "readwrite");
    const rows = await request(tx.objectStore("rows").getAll(IDBKeyRange.bound([session], [session, []])));
    for (const { uncommittedAt, ...row } of rows) tx.objectStore("rows").put({ ...row, committedAt: Date.now() });
    await done(tx);
  },
  listUncommitted(olderThan) {
    return request(this.db.transaction("rows").objectStore("rows").index("byUncommitted").getAll(IDBKeyRange.upperBound([olderThan, []]), 100));
  },
  async sweep(olderThan) {
    let deleted = 0;
    for (;;) {
      const tx = this.db.transaction(["bytes", "meta", "rows"], "readwrite");
      const rows = await request(tx.objectStore("rows").index("byUncommitted").getAll(IDBKeyRange.upperBound([olderThan, []]), 500));
      for (const row of rows) (tx.objectStore("rows").delete([row.session, row.id]), tx.objectStore("bytes").delete(row.id), tx.objectStore("meta").delete(row.id));
      await done(tx);
      deleted += rows.length;
      if (rows.length < 500) return deleted;
    }
  },
};

const oursRows = {
  async open() {
    await IndexedDbAttachmentStore.deleteDatabase("rows-ours");
    this.store = await IndexedDbAttachmentStore.open("rows-ours");
  },
  putMany(session, items) {
    return this.store.session(session).putMany(items.map((bytes) => ({ bytes, meta: { mediaType: "application/octet-stream" } })));
  },
  commit(session) {
    return this.store.session(session).commit();
  },
  listUncommitted(olderThan) {
    return this.store.manifest.listUncommitted(olderThan, { limit: 100 });
  },
  async sweep(olderThan) {
    return (await reclaimOrphanedAttachments(this.store.manifest, this.store, olderThan)).deletedCount;
  },
};

const rowKeepers = { "web-attachments": oursRows, "raw-indexeddb": rawRows };
let rowsCount = 0;

/**
 * Grows `system`'s committed rows to `n` (16-byte attachments, 500 to a session, each session
 * committed).
 */
export async function growCommittedRows(system, n) {
  const keeper = rowKeepers[system];
  if (!rowsCount) await keeper.open();
  while (rowsCount < n) {
    const count = Math.min(500, n - rowsCount);
    await keeper.putMany(`committed-${rowsCount}`, Array.from({ length: count }, (_, k) => item(3e9 + rowsCount + k, 16)));
    await keeper.commit(`committed-${rowsCount}`);
    rowsCount += count;
  }
  return rowsCount;
}

/**
 * Microseconds for a 100-row page of listUncommitted and for a sweep of 100 fresh orphans, among
 * `system`'s committed rows: the median of `rounds`, and the first round's apart (a sweep that
 * clears what the engine left behind pays for it in its first round).
 */
export async function orphansAmongRows(system, rounds) {
  const keeper = rowKeepers[system];
  const list = [], sweep = [];
  for (let round = 0; round < rounds; round++) {
    await keeper.putMany(`orphans-${rowsCount}-${round}`, Array.from({ length: 100 }, (_, k) => item(4e9 + rowsCount * 10 + round * 100 + k, 16)));
    const threshold = Date.now() + 1;
    let started = performance.now();
    const page = await keeper.listUncommitted(threshold);
    list.push((performance.now() - started) * 1000);
    started = performance.now();
    const deleted = await keeper.sweep(threshold);
    sweep.push((performance.now() - started) * 1000);
    if (page.length !== 100 || deleted !== 100) throw new Error(`${system} listed ${page.length}, swept ${deleted} of 100 orphans`);
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return { listUncommitted100: median(list), sweep100Orphans: median(sweep), firstListUncommitted100: list[0], firstSweep100Orphans: sweep[0] };
}
