// Contract §9: integrity. `verify` on every store kind; on IndexedDB, records damaged by hand
// through a plain connection (no engine damages a record on demand: this is what a failing disk
// leaves), read with and without `verifyReads`, in the buffer layouts and the Blob layout.
import { AttachmentStoreError, IndexedDbAttachmentStore, MemoryAttachmentStore, SessionScopedAttachmentStore, contentId, openAttachmentStore } from "web-attachments";
import { assert, test } from "./harness.js";

const rejects = (p, code, message) => assert.rejects(p, code, AttachmentStoreError, message);
let counter = 0;
const freshName = () => `integrity-${Date.now()}-${counter++}-${Math.random().toString(36).slice(2)}`;
const bytesOf = (length, seed) => Uint8Array.from({ length }, (_, i) => (i * seed + (i >> 8)) & 255);
const flipped = (bytes) => ((bytes = bytes.slice()), (bytes[bytes.length >> 1] ^= 0x5a), bytes);

async function readAll(stream) {
  const parts = [];
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(...value);
  }
  return Uint8Array.from(parts);
}

const request = (r) => new Promise((ok, ko) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => ko(r.error))));

/** Replaces the stored bytes of `id` in database `name` with `other`, keeping the record's shape. */
async function damage(name, id, other) {
  const db = await request(indexedDB.open(name));
  const bytes = db.transaction("bytes", "readwrite").objectStore("bytes");
  const record = await request(bytes.get(id));
  let value;
  if (record instanceof Blob) value = new Blob([other], { type: record.type });
  else if (record instanceof ArrayBuffer) value = other.slice().buffer;
  else value = { ...record, bytes: other.slice().buffer };
  const tx = db.transaction("bytes", "readwrite");
  await request(tx.objectStore("bytes").put(value, id));
  db.close();
  return record instanceof Blob ? "Blob" : record instanceof ArrayBuffer ? "buffer" : "record";
}

/** A store written in plain JavaScript whose `get` hands back what a damaged disk would. */
class DamagingStore {
  map = new Map();
  damaged = new Set();
  persistence = "ephemeral";
  async put(bytes, meta) {
    const id = contentId(bytes);
    const ref = { id, mediaType: meta.mediaType, byteLen: bytes.length };
    this.map.set(id, { meta: ref, bytes: bytes.slice() });
    return ref;
  }
  async get(id) {
    const entry = this.map.get(id);
    if (!entry) throw new AttachmentStoreError("NotFound", `no ${id}`);
    return { meta: entry.meta, bytes: this.damaged.has(id) ? flipped(entry.bytes) : entry.bytes.slice() };
  }
  async head(id) {
    return this.map.get(id)?.meta;
  }
  async list() {
    return [...this.map.values()].map((entry) => entry.meta).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  async delete(id) {
    this.map.delete(id);
  }
}

class MapManifest {
  rows = [];
  async recordIntent(intent) { this.rows.push({ ...intent }); }
  async commitRefs() {}
  async listUncommitted() { return []; }
  async forget() {}
  async entriesFor(id) { return this.rows.filter((row) => row.attachmentId === id); }
}

const kinds = {
  indexeddb: () => IndexedDbAttachmentStore.open(freshName()),
  memory: async () => new MemoryAttachmentStore(),
  "session over indexeddb": async () => (await IndexedDbAttachmentStore.open(freshName())).session("s"),
  "session over a JavaScript store": async () => new SessionScopedAttachmentStore(new DamagingStore(), new MapManifest(), "s"),
};

for (const [kind, make] of Object.entries(kinds)) {
  test(`${kind}: verify re-hashes every attachment, reports progress, and honours its signal`, async () => {
    const store = await make();
    const contents = [bytesOf(10, 3), bytesOf(70_000, 5), bytesOf(200_000, 7)];
    for (const bytes of contents) await store.put(bytes, { mediaType: "application/octet-stream" });
    const progress = [];
    const report = await store.verify({ onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(report, { checkedCount: 3, checkedBytes: 270_010, corrupt: [] });
    assert.deepEqual(progress, [[0, 3], [1, 3], [2, 3], [3, 3]]);
    const reason = new Error("stop");
    const stopped = await rejects(store.verify({ signal: AbortSignal.abort(reason) }), "Backend");
    assert.equal(stopped.cause, reason);
    await rejects(store.verify({ onProgress: 1 }), "InvalidInput");
  });
}

test("a JavaScript store's damaged bytes: verify removes them; the session's rows stay", async () => {
  const inner = new DamagingStore();
  const manifest = new MapManifest();
  const session = new SessionScopedAttachmentStore(inner, manifest, "s");
  const good = await session.put(bytesOf(100, 3), { mediaType: "application/octet-stream" });
  const bad = await session.put(bytesOf(100, 5), { mediaType: "application/octet-stream" });
  inner.damaged.add(bad.id);
  const report = await session.verify();
  assert.deepEqual(report, { checkedCount: 2, checkedBytes: 100, corrupt: [bad.id] });
  assert.equal(await inner.head(bad.id), undefined);
  assert.ok(await inner.head(good.id));
  assert.equal((await manifest.entriesFor(bad.id)).length, 1);
});

test("indexeddb: damaged records in every layout are found by verify and healed by a re-put", async () => {
  const name = freshName();
  const store = await IndexedDbAttachmentStore.open(name);
  const small = bytesOf(1000, 3); // stored with its metadata
  const bare = bytesOf(70_000, 5); // a bare buffer
  const blob = new Blob([bytesOf(100_000, 7)], { type: "video/webm" }); // a Blob where the engine keeps them
  const session = store.session("kept");
  const refs = [await session.put(small, { mediaType: "application/octet-stream" }), await session.put(bare, { mediaType: "application/octet-stream" }), await session.put(blob)];
  await session.commit({ note: "saved" });
  store.close();
  const layouts = [];
  for (const [ref, bytes] of [[refs[0], small], [refs[1], bare], [refs[2], new Uint8Array(await blob.arrayBuffer())]]) layouts.push(await damage(name, ref.id, flipped(bytes)));
  const expectedLayouts = (await (await IndexedDbAttachmentStore.open(freshName())).storesBlobs()) ? ["record", "buffer", "Blob"] : ["record", "buffer", "buffer"];
  assert.deepEqual(layouts, expectedLayouts);

  const reopened = await IndexedDbAttachmentStore.open(name);
  assert.equal(reopened.dataLoss, undefined, "an ordinary open reports no data loss");
  assert.bytesEqual((await reopened.get(refs[0].id)).bytes, flipped(small), "unverified reads do not notice");
  const report = await reopened.verify();
  assert.deepEqual(report, { checkedCount: 3, checkedBytes: 0, corrupt: refs.map((ref) => ref.id).sort() });
  for (const ref of refs) {
    await rejects(reopened.get(ref.id), "NotFound");
    const rows = await reopened.manifest.entriesFor(ref.id);
    assert.ok(rows.length === 1 && rows[0].committedAtEpochMs !== undefined, "its commit stays");
  }
  assert.deepEqual(await reopened.sessionState("kept"), { note: "saved" });
  await reopened.put(blob);
  assert.equal((await reopened.getBlob(refs[2].id)).size, 100_000, "a re-put heals");
  assert.deepEqual((await reopened.verify()).corrupt, []);
  reopened.close();
});

test("indexeddb: verifyReads rejects Corrupt from get, getBlob, getDataUrl and getStream, and removes the damage", async () => {
  const name = freshName();
  const store = await IndexedDbAttachmentStore.open(name);
  const contents = [bytesOf(500, 3), bytesOf(70_000, 5), bytesOf(90_000, 9), bytesOf(600, 11)];
  const refs = [];
  for (const bytes of contents.slice(0, 3)) refs.push(await store.put(bytes, { mediaType: "application/octet-stream" }));
  refs.push(await store.put(new Blob([contents[3]]), { mediaType: "image/png" }));
  const fine = await store.put(bytesOf(80_000, 13), { mediaType: "application/octet-stream" });
  store.close();
  for (const [i, ref] of refs.entries()) await damage(name, ref.id, flipped(contents[i]));

  await rejects(IndexedDbAttachmentStore.open(name, { verifyReads: "yes" }), "InvalidInput");
  const verifying = await IndexedDbAttachmentStore.open(name, { verifyReads: true });
  const error = await rejects(verifying.get(refs[0].id), "Corrupt");
  assert.ok(error.message.includes(refs[0].id), error.message);
  await rejects(verifying.get(refs[0].id), "NotFound");
  await rejects(verifying.getBlob(refs[1].id), "Corrupt");
  await rejects(verifying.getBlob(refs[1].id), "NotFound");
  await rejects(verifying.getDataUrl(refs[3].id), "Corrupt");
  // A stream hands the bytes out as it reads them and errors at its end.
  const stream = await verifying.getStream(refs[2].id);
  await rejects(readAll(stream), "Corrupt");
  assert.equal(await verifying.head(refs[2].id), undefined);
  // Intact bytes read as ever, whole or in part.
  assert.bytesEqual(await readAll(await verifying.getStream(fine.id)), bytesOf(80_000, 13));
  assert.bytesEqual(new Uint8Array(await (await verifying.getBlob(fine.id, { start: 10, end: 20 })).arrayBuffer()), bytesOf(80_000, 13).slice(10, 20));
  verifying.close();
  const viaOpen = await openAttachmentStore({ name, verifyReads: true });
  assert.bytesEqual((await viaOpen.get(fine.id)).bytes, bytesOf(80_000, 13));
  viaOpen.close();
});
