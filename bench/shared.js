// What the benchmark (bundled) and the A/B page (served as is) share: test data, medians, raw
// IndexedDB helpers and the library's layout in plain JavaScript. No bare imports here.

/** Distinct pseudo-random buffers (xorshift; getRandomValues is capped at 64 KiB a call). */
let seed = 0x9e3779b9;
export function buffers(count, size) {
  return Array.from({ length: count }, () => {
    const words = new Uint32Array(Math.ceil(size / 4));
    for (let i = 0; i < words.length; i++) {
      seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
      words[i] = seed;
    }
    return new Uint8Array(words.buffer, 0, size);
  });
}

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
export const subtleId = async (bytes) => hex(await crypto.subtle.digest("SHA-256", bytes));
export const META = { mediaType: "application/octet-stream" };

export function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error);
  });
}

/** Opens database `name` at version 1, creating its stores with `upgrade(db)` when new. */
export function openDatabase(name, upgrade) {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => upgrade(open.result);
  return request(open);
}

/** Bytes up to this size are stored with a copy of their metadata (as the library does). */
export const SMALL = 64 * 1024;

/**
 * Raw IndexedDB doing what web-attachments' contract asks of it, in its layout: a defensive copy of
 * the caller's bytes; metadata in a record of its own (so `head` reads no bytes), and bytes up to
 * 64 KiB stored with a copy of it (so a small get is one request; a larger one reads the metadata
 * next); both written in one transaction. Not a competitor: the floor for that layout, reported
 * apart (`layoutFloor`).
 */
export const rawSameLayout = {
  name: "raw-indexeddb-same-layout",
  reference: true,
  open: (name) =>
    openDatabase(name, (db) => {
      db.createObjectStore("bytes");
      db.createObjectStore("meta", { keyPath: "id" });
    }),
  async put(db, bytes) {
    const [id] = await rawSameLayout.putBatch(db, [bytes]);
    return id;
  },
  async get(db, id) {
    const tx = db.transaction(["bytes", "meta"]);
    const value = await request(tx.objectStore("bytes").get(id));
    if (!(value instanceof ArrayBuffer)) return new Uint8Array(value.bytes);
    await request(tx.objectStore("meta").get(id));
    return new Uint8Array(value);
  },
  async putBatch(db, list) {
    const copies = list.map((bytes) => bytes.slice());
    const ids = await Promise.all(copies.map(subtleId));
    const tx = db.transaction(["bytes", "meta"], "readwrite");
    copies.forEach((copy, i) => {
      const meta = { id: ids[i], mediaType: META.mediaType, byteLen: copy.length };
      tx.objectStore("bytes").put(copy.length <= SMALL ? { ...meta, bytes: copy.buffer } : copy.buffer, ids[i]);
      tx.objectStore("meta").put(meta);
    });
    await done(tx);
    return ids;
  },
  async removeMany(db, ids) {
    const tx = db.transaction(["bytes", "meta"], "readwrite");
    for (const id of ids) {
      tx.objectStore("bytes").delete(id);
      tx.objectStore("meta").delete(id);
    }
    await done(tx);
  },
  close: (db) => db.close(),
};
