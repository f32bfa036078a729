// The contract (shared/CONTRACT.md §1-6, §8) against the package as a user installs it.
import {
  AttachmentStoreError,
  ERROR_CODES,
  IndexedDbAttachmentStore,
  MemoryAttachmentManifest,
  MemoryAttachmentStore,
  SessionScopedAttachmentStore,
  contentId,
  contentIdOf,
  reclaimOrphanedAttachments,
  resolveLlmRequestAttachments,
} from "web-attachments";
import { assert, test } from "./harness.js";

const EMPTY_ID = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const ABC_ID = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const text = (s) => new TextEncoder().encode(s);
const rejects = (p, code, message) => assert.rejects(p, code, AttachmentStoreError, message);
let counter = 0;
const freshName = () => `contract-${Date.now()}-${counter++}-${Math.random().toString(36).slice(2)}`;

/** Every store kind, freshly made, with its manifest. */
const kinds = {
  async indexeddb() {
    const store = await IndexedDbAttachmentStore.open(freshName());
    return { store, manifest: store.manifest };
  },
  async memory() {
    const store = new MemoryAttachmentStore();
    return { store, manifest: store.manifest };
  },
  async "session over indexeddb"() {
    const inner = await IndexedDbAttachmentStore.open(freshName());
    return { store: inner.session("contract"), manifest: inner.manifest };
  },
  async "session over a JavaScript store"() {
    const inner = new MapStore();
    const manifest = new MapManifest();
    return { store: new SessionScopedAttachmentStore(inner, manifest, "contract"), manifest };
  },
};

/** A store written in plain JavaScript, as a third party would. */
class MapStore {
  map = new Map();
  persistence = "ephemeral";
  async put(bytes, meta) {
    const id = contentId(bytes);
    const ref = { id, mediaType: meta.mediaType, byteLen: bytes.length };
    for (const key of ["width", "height", "label"]) if (meta[key] !== undefined) ref[key] = meta[key];
    const existing = this.map.get(id);
    this.map.set(id, { meta: ref, bytes: existing ? existing.bytes : bytes.slice() });
    return ref;
  }
  async get(id) {
    const entry = this.map.get(id.replace(/^sha256:/, ""));
    if (!entry) throw new AttachmentStoreError("NotFound", `no ${id}`);
    return { meta: entry.meta, bytes: entry.bytes.slice() };
  }
  async head(id) {
    return this.map.get(id)?.meta;
  }
  async list() {
    return [...this.map.values()].map((e) => e.meta).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
  async delete(id) {
    this.map.delete(id);
  }
  close() {}
}

/** A manifest written in plain JavaScript. */
class MapManifest {
  rows = new Map();
  calls = [];
  key = (s, a) => `${s}\u0000${a}`;
  async recordIntent(intent) {
    this.calls.push("recordIntent");
    const old = this.rows.get(this.key(intent.sessionId, intent.attachmentId));
    const row = { ...intent };
    if (old?.committedAtEpochMs !== undefined) row.committedAtEpochMs = old.committedAtEpochMs;
    this.rows.set(this.key(intent.sessionId, intent.attachmentId), row);
  }
  async commitRefs(sessionId, ids) {
    this.calls.push("commitRefs");
    for (const id of ids) {
      const row = this.rows.get(this.key(sessionId, id));
      if (row && row.committedAtEpochMs === undefined) row.committedAtEpochMs = Date.now();
    }
  }
  async listUncommitted(olderThan) {
    return [...this.rows.values()]
      .filter((r) => r.committedAtEpochMs === undefined && r.intentAtEpochMs <= olderThan)
      .sort((a, b) => a.intentAtEpochMs - b.intentAtEpochMs);
  }
  async forget(attachmentId, sessionId) {
    for (const [k, r] of this.rows) if (r.attachmentId === attachmentId && (sessionId === undefined || r.sessionId === sessionId)) this.rows.delete(k);
  }
  async entriesFor(attachmentId) {
    return [...this.rows.values()].filter((r) => r.attachmentId === attachmentId);
  }
}

test("exports: AttachmentStoreError is an Error subclass with the contract's codes", () => {
  const error = new AttachmentStoreError("NotFound", "x", { cause: 1 });
  assert.ok(error instanceof Error && error instanceof AttachmentStoreError);
  assert.equal(error.name, "AttachmentStoreError");
  assert.equal(error.cause, 1);
  assert.deepEqual([...ERROR_CODES], ["NotFound", "MissingMeta", "MetadataDecode", "ManifestRecordFailed", "QuotaExceeded", "InvalidInput", "Closed", "Backend", "Corrupt"]);
});

test("contentId hashes Uint8Array and ArrayBuffer; contentIdOf hashes Blobs whole or in chunks", async () => {
  assert.equal(contentId(new Uint8Array()), EMPTY_ID);
  assert.equal(contentId(text("abc")), ABC_ID);
  assert.equal(contentId(text("abc").buffer), ABC_ID);
  assert.equal(contentId(text("xabcx").subarray(1, 4)), ABC_ID, "a view hashes only its own bytes");
  assert.equal(await contentIdOf(new Blob(["abc"])), ABC_ID);
  const big = new Uint8Array(9 * 1024 * 1024 + 7).map((_, i) => (i * 7) & 255);
  assert.equal(await contentIdOf(new Blob([big])), contentId(big), "a Blob hashed whole (WebCrypto) equals the wasm hash");
  const huge = new Uint8Array(33 * 1024 * 1024 + 5).map((_, i) => (i * 13) & 255); // over 32 MiB: read in chunks
  assert.equal(await contentIdOf(new Blob([huge])), contentId(huge), "chunked Blob hash equals one-shot hash");
  const expected = new Uint8Array(await crypto.subtle.digest("SHA-256", big));
  assert.equal(contentId(big), [...expected].map((b) => b.toString(16).padStart(2, "0")).join(""));
  await rejects(() => contentId(new Blob(["abc"])), "InvalidInput");
  await rejects(() => contentId("abc"), "InvalidInput");
  await rejects(contentIdOf(text("abc")), "InvalidInput");
});

for (const [kind, make] of Object.entries(kinds)) {
  test(`${kind}: put and get round-trip every field, normalised`, async () => {
    const { store } = await make();
    const bytes = new Uint8Array(100_000).map((_, i) => i & 255);
    const ref = await store.put(bytes, { mediaType: " Image/JPG ", width: 640, height: 480, label: "cat.jpg" });
    assert.deepEqual(ref, { id: contentId(bytes), mediaType: "image/jpeg", byteLen: 100_000, width: 640, height: 480, label: "cat.jpg" });
    const stored = await store.get(ref.id);
    assert.deepEqual(stored.meta, ref);
    assert.bytesEqual(stored.bytes, bytes);
    assert.deepEqual(await store.head(ref.id), ref);
    assert.deepEqual(await store.head(`sha256:${ref.id}`), ref, "sha256: ids accepted");
    assert.equal((await store.get(`sha256:${ref.id}`)).meta.id, ref.id);
  });

  test(`${kind}: absent optional fields are absent, not null`, async () => {
    const { store } = await make();
    const ref = await store.put(text("plain"), { mediaType: "text/plain" });
    for (const value of [ref, await store.head(ref.id), (await store.get(ref.id)).meta, (await store.list())[0]]) {
      assert.ok(!("label" in value) && !("width" in value) && !("height" in value), JSON.stringify(value));
    }
  });

  test(`${kind}: bytes in are copied and bytes out are fresh arrays the caller owns`, async () => {
    const { store } = await make();
    const bytes = text("original content");
    const ref = await store.put(bytes, { mediaType: "text/plain" });
    bytes.fill(0);
    const first = await store.get(ref.id);
    assert.bytesEqual(first.bytes, text("original content"), "mutating the input changed nothing");
    assert.equal(first.bytes.buffer.byteLength, first.bytes.length, "not a view into wasm memory");
    first.bytes.fill(1);
    assert.bytesEqual((await store.get(ref.id)).bytes, text("original content"), "mutating the output changed nothing");
  });

  test(`${kind}: { transfer: true } moves a whole buffer in, copies a part of one, and checks the option`, async () => {
    const { store } = await make();
    const meta = { mediaType: "application/octet-stream" };
    const canMove = typeof ArrayBuffer.prototype.transferToFixedLength === "function";
    const whole = text("handed over whole");
    const moved = await store.put(whole, meta, { transfer: true });
    assert.equal(moved.id, contentId(text("handed over whole")));
    assert.equal(whole.buffer.byteLength, canMove ? 0 : 17, "the caller's buffer is detached where the engine can move it");
    const buffer = text("an ArrayBuffer").buffer;
    await store.put(buffer, meta, { transfer: true });
    assert.equal(buffer.byteLength, canMove ? 0 : 14);
    const outer = text("[part]");
    const part = await store.put(outer.subarray(1, 5), meta, { transfer: true });
    assert.equal(outer.byteLength, 6, "a view of part of a buffer is copied, the buffer left alone");
    outer.fill(0);
    const many = [text("many one"), text("many two")];
    const refs = await store.putMany(many.map((bytes) => ({ bytes, meta })), { transfer: true });
    assert.deepEqual(many.map((bytes) => bytes.byteLength), canMove ? [0, 0] : [8, 8]);
    for (const [ref, expected] of [[moved, "handed over whole"], [part, "part"], [refs[1], "many two"]]) {
      assert.bytesEqual((await store.get(ref.id)).bytes, text(expected));
    }
    const twice = text("in two items");
    const [once, again] = await store.putMany([{ bytes: twice, meta }, { bytes: twice, meta }], { transfer: true });
    assert.equal(twice.byteLength, 12, "a buffer two items share is copied, not moved");
    assert.equal(once.id, again.id);
    const kept = text("kept");
    await store.put(kept, meta, { transfer: false });
    assert.equal(kept.byteLength, 4, "transfer: false copies");
    await rejects(store.put(text("x"), meta, { transfer: "yes" }), "InvalidInput", "a string transfer");
    await rejects(store.put(text("x"), meta, 5), "InvalidInput", "a number as options");
    await rejects(store.putMany([], { transfer: 1 }), "InvalidInput", "a number transfer");
  });

  test(`${kind}: detached bytes reject InvalidInput, and a bad putMany item moves nothing`, async () => {
    const { store } = await make();
    const meta = { mediaType: "application/octet-stream" };
    const gone = text("gone").buffer;
    const goneView = new Uint8Array(gone, 1);
    structuredClone(gone, { transfer: [gone] });
    const error = await rejects(store.put(gone, meta), "InvalidInput");
    assert.ok(error.message.includes("detached"), error.message);
    await rejects(store.put(goneView, meta), "InvalidInput", "a view of a detached buffer");
    const itemError = await rejects(store.putMany([{ bytes: text("fine"), meta }, { bytes: gone, meta }]), "InvalidInput");
    assert.ok(itemError.message.includes("items[1]"), itemError.message);
    await rejects(() => contentId(gone), "InvalidInput", "contentId of detached bytes");
    const first = text("first item");
    await rejects(store.putMany([{ bytes: first, meta }, { bytes: text("second"), meta: { mediaType: "bad" } }], { transfer: true }), "InvalidInput");
    assert.equal(first.byteLength, 10, "nothing was moved");
    assert.equal(await store.head(contentId(first)), undefined);
    assert.equal((await store.put(text("still usable"), meta)).byteLen, 12);
  });

  test(`${kind}: ArrayBuffer and Blob inputs`, async () => {
    const { store } = await make();
    const fromBuffer = await store.put(text("buffer").buffer, { mediaType: "application/octet-stream" });
    assert.equal(fromBuffer.id, contentId(text("buffer")));
    const fromBlob = await store.put(new Blob([text("blob "), text("parts")]), { mediaType: "text/plain" });
    assert.equal(fromBlob.id, contentId(text("blob parts")));
    assert.bytesEqual((await store.get(fromBlob.id)).bytes, text("blob parts"));
  });

  test(`${kind}: same bytes give one id, stored once; the last metadata wins`, async () => {
    const { store } = await make();
    const a = await store.put(text("same"), { mediaType: "text/plain", label: "a" });
    const b = await store.put(text("same"), { mediaType: "text/markdown", label: "b" });
    assert.equal(a.id, b.id);
    const list = await store.list();
    assert.equal(list.length, 1);
    assert.equal(list[0].label, "b");
    assert.equal(list[0].mediaType, "text/markdown");
  });

  test(`${kind}: unknown and malformed ids`, async () => {
    const { store } = await make();
    await rejects(store.get(ABC_ID), "NotFound");
    await rejects(store.get("not-an-id"), "NotFound");
    await rejects(store.get(ABC_ID.toUpperCase()), "NotFound");
    assert.equal(await store.head(ABC_ID), undefined);
    assert.equal(await store.head("nope"), undefined);
    await store.delete("nope");
    await store.delete(ABC_ID);
  });

  test(`${kind}: delete is unconditional and idempotent; list is ordered by id`, async () => {
    const { store } = await make();
    const refs = [];
    for (let i = 0; i < 5; i++) refs.push(await store.put(text(`item ${i}`), { mediaType: "text/plain" }));
    await store.delete(refs[2].id);
    await store.delete(refs[2].id);
    const ids = (await store.list()).map((r) => r.id);
    assert.deepEqual(ids, refs.filter((_, i) => i !== 2).map((r) => r.id).sort());
  });

  test(`${kind}: list({ after, limit }) pages through the store in id order`, async () => {
    const { store } = await make();
    const refs = [];
    for (let i = 0; i < 5; i++) refs.push(await store.put(text(`page ${i}`), { mediaType: "text/plain" }));
    const ids = refs.map((ref) => ref.id).sort();
    const paged = [];
    for (let after; ;) {
      const page = await store.list(after === undefined ? { limit: 2 } : { after, limit: 2 });
      assert.ok(page.length <= 2, "at most the limit");
      if (!page.length) break;
      paged.push(...page.map((ref) => ref.id));
      after = page.at(-1).id;
    }
    assert.deepEqual(paged, ids);
    assert.deepEqual((await store.list({ after: ids[2] })).map((ref) => ref.id), ids.slice(3));
    assert.deepEqual((await store.list({})).map((ref) => ref.id), ids);
    await rejects(store.list({ limit: 0 }), "InvalidInput");
    await rejects(store.list({ limit: 1.5 }), "InvalidInput");
    await rejects(store.list({ after: "not an id" }), "InvalidInput");
    await rejects(store.list("all"), "InvalidInput");
  });

  test(`${kind}: putMany stores every item at once, or nothing when one is bad`, async () => {
    const { store } = await make();
    const refs = await store.putMany([
      { bytes: text("one"), meta: { mediaType: "text/plain", label: "1" } },
      { bytes: new Blob(["two"]), meta: { mediaType: "text/plain" } },
      { bytes: text("one"), meta: { mediaType: "text/markdown" } },
    ]);
    assert.deepEqual(refs.map((r) => r.id), [contentId(text("one")), contentId(text("two")), contentId(text("one"))]);
    assert.equal((await store.list()).length, 2);
    await rejects(store.putMany([{ bytes: text("three"), meta: { mediaType: "text/plain" } }, { bytes: text("four"), meta: { mediaType: "bad" } }]), "InvalidInput");
    await rejects(store.putMany("nope"), "InvalidInput");
    assert.equal(await store.head(contentId(text("three"))), undefined, "a bad item writes nothing");
    assert.deepEqual(await store.putMany([]), []);
  });

  test(`${kind}: bad metadata rejects InvalidInput and stores nothing`, async () => {
    const { store } = await make();
    await rejects(store.put(text("x"), { mediaType: "text/plain; charset=utf-8" }), "InvalidInput");
    await rejects(store.put(text("x"), { mediaType: "nonsense" }), "InvalidInput");
    await rejects(store.put(text("x"), { mediaType: "image/png", width: -1 }), "InvalidInput");
    await rejects(store.put(text("x"), { mediaType: "image/png", height: 1.5 }), "InvalidInput");
    await rejects(store.put(text("x"), { mediaType: "image/png", label: 7 }), "InvalidInput");
    await rejects(store.put(text("x"), null), "InvalidInput");
    await rejects(store.put("x", { mediaType: "text/plain" }), "InvalidInput");
    assert.equal((await store.list()).length, 0);
  });
}

test("indexeddb: attachments over the engines' value limit are chunked, read whole, and deleted whole", async () => {
  const store = await IndexedDbAttachmentStore.open(freshName());
  const size = 70 * 1024 * 1024 + 3; // three chunks of at most 32 MiB
  const big = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) big[i] = (i / 4096) & 255;
  const session = store.session("big");
  const ref = await session.put(new Blob([big]), { mediaType: "application/octet-stream" });
  assert.equal(ref.id, contentId(big));
  const again = await session.put(big, { mediaType: "video/mp4" });
  assert.equal(again.id, ref.id, "a repeat put of chunked bytes keeps them");
  const back = await store.get(ref.id);
  assert.equal(back.bytes.length, size);
  assert.equal(contentId(back.bytes), ref.id, "reassembled in order");
  assert.equal(back.meta.mediaType, "video/mp4");
  const rawKeys = async () => {
    const db = await new Promise((ok) => { const r = indexedDB.open(store.name); r.onsuccess = () => ok(r.result); });
    const keys = await new Promise((ok) => { const r = db.transaction("bytes").objectStore("bytes").getAllKeys(); r.onsuccess = () => ok(r.result); });
    db.close();
    return keys;
  };
  assert.deepEqual(await rawKeys(), [ref.id, `${ref.id}#000001`, `${ref.id}#000002`]);
  const report = await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 1000);
  assert.deepEqual(report, { scannedIntentCount: 1, reclaimedCount: 1, deletedCount: 1, deletedBytes: size });
  assert.deepEqual(await rawKeys(), [], "the sweep deleted every chunk");
});

test("indexeddb: calls made one after another take effect in that order, awaited or not (reads share transactions)", async () => {
  const store = await IndexedDbAttachmentStore.open(freshName());
  const ref = await store.put(text("ordered"), { mediaType: "text/plain" });
  // Code after an awaited read runs while that read's transaction is still active.
  await store.get(ref.id);
  const before = store.get(ref.id).then((found) => found.meta.id);
  const headBefore = store.head(ref.id).then((meta) => meta?.id);
  const deleted = store.delete(ref.id);
  const after = store.get(ref.id).then(() => "found", (error) => error.code);
  const headAfter = store.head(ref.id);
  const listAfter = store.list();
  assert.deepEqual(await Promise.all([before, headBefore, deleted, after, headAfter, listAfter]), [ref.id, ref.id, undefined, "NotFound", undefined, []]);
  // Many reads side by side, more than one transaction serves.
  const refs = await store.putMany(Array.from({ length: 70 }, (_, i) => ({ bytes: text(`side by side ${i}`), meta: { mediaType: "text/plain" } })));
  const read = await Promise.all(refs.map((r) => store.get(r.id)));
  assert.deepEqual(read.map((found) => new TextDecoder().decode(found.bytes)), refs.map((_, i) => `side by side ${i}`));
  store.close();
});

test("persistence: IndexedDB is durable, memory is ephemeral", async () => {
  const idb = await IndexedDbAttachmentStore.open(freshName());
  assert.equal(idb.persistence, "durable");
  assert.equal(idb.session("s").persistence, "durable");
  assert.equal(new MemoryAttachmentStore().persistence, "ephemeral");
  assert.equal(IndexedDbAttachmentStore.open.length <= 2, true, "name and options, both optional");
});

test("IndexedDbAttachmentStore.open() defaults to the database web-attachments", async () => {
  const store = await IndexedDbAttachmentStore.open();
  assert.equal(store.name, "web-attachments");
  store.close();
});

test("close: later calls reject Closed, for stores and manifests", async () => {
  for (const make of [kinds.indexeddb, kinds.memory]) {
    const { store, manifest } = await make();
    const ref = await store.put(text("x"), { mediaType: "text/plain" });
    store.close();
    await rejects(store.get(ref.id), "Closed");
    await rejects(store.put(text("y"), { mediaType: "text/plain" }), "Closed");
    await rejects(store.list(), "Closed");
    if (store instanceof IndexedDbAttachmentStore) await rejects(manifest.listUncommitted(0), "Closed");
  }
});

for (const [kind, makeManifest] of Object.entries({
  indexeddb: async () => (await IndexedDbAttachmentStore.open(freshName())).manifest,
  memory: async () => new MemoryAttachmentManifest(),
})) {
  test(`${kind} manifest: upsert keeps commits, commits never insert, listing is inclusive and oldest first`, async () => {
    const manifest = await makeManifest();
    const [a, b, c] = ["a", "b", "c"].map((s) => contentId(text(s)));
    const intent = (attachmentId, sessionId, intentAtEpochMs) => ({ attachmentId, sessionId, canonicalUri: `sha256:${attachmentId}`, intentAtEpochMs });
    await manifest.recordIntent(intent(a, "s1", 100));
    await manifest.recordIntent(intent(b, "s1", 200));
    await manifest.recordIntent(intent(c, "s2", 200));
    await manifest.recordIntent(intent(a, "s2", 300));
    await manifest.commitRefs("nobody", [a]);
    await manifest.commitRefs("s1", []);
    const listed = await manifest.listUncommitted(200);
    assert.deepEqual(listed.map((r) => [r.intentAtEpochMs, r.sessionId]), [[100, "s1"], [200, "s1"], [200, "s2"]]);
    assert.ok(listed.every((r) => !("committedAtEpochMs" in r) && !("uncommittedAt" in r)), "uncommitted rows have no committedAtEpochMs (nor a backend's own fields)");
    // A page at a time, each after the last row of the one before: the same rows, in order.
    const paged = [];
    for (let page, after; (page = await manifest.listUncommitted(200, { after, limit: 2 })).length; after = page.at(-1)) {
      assert.ok(page.length <= 2, `a page of ${page.length}`);
      paged.push(...page);
    }
    assert.deepEqual(paged, listed);
    assert.deepEqual(await manifest.listUncommitted(200, { after: listed[0] }), listed.slice(1), "after without a limit: the rest");
    await rejects(manifest.listUncommitted(200, { limit: 0 }), "InvalidInput");
    await rejects(manifest.listUncommitted(200, { after: "yesterday" }), "InvalidInput");
    await manifest.commitRefs("s1", [a]);
    await manifest.recordIntent(intent(a, "s1", 5000));
    const rowsOfA = await manifest.entriesFor(a);
    const s1 = rowsOfA.find((r) => r.sessionId === "s1");
    assert.equal(rowsOfA.length, 2, "commitRefs never inserts");
    assert.equal(s1.intentAtEpochMs, 5000);
    assert.equal(typeof s1.committedAtEpochMs, "number", "the refresh kept the commit");
    assert.equal(rowsOfA.find((r) => r.sessionId === "s2").committedAtEpochMs, undefined);
    await manifest.forget(a, "s2");
    assert.equal((await manifest.entriesFor(a)).length, 1);
    await manifest.forget(a);
    assert.equal((await manifest.entriesFor(`sha256:${a}`)).length, 0);
    await rejects(manifest.recordIntent({ ...intent(a, "s", 1), canonicalUri: "https://example.com" }), "InvalidInput");
    await rejects(manifest.recordIntent({ ...intent(a, "", 1) }), "InvalidInput");
    await rejects(manifest.recordIntent({ ...intent(a, "s", "yesterday") }), "InvalidInput");
    await rejects(manifest.commitRefs("s", "not an array"), "InvalidInput");
    await rejects(manifest.listUncommitted(NaN), "InvalidInput");
  });
}

test("store.session(): intent before bytes, pending ids, commit", async () => {
  for (const make of [kinds.indexeddb, kinds.memory]) {
    const { store, manifest } = await make();
    const session = store.session("conversation-1");
    assert.equal(session.sessionId, "conversation-1");
    const first = await session.put(text("first"), { mediaType: "text/plain" });
    const second = await session.put(new Blob(["second"]), { mediaType: "text/plain" });
    await session.put(text("first"), { mediaType: "text/plain" });
    assert.deepEqual(session.pendingManifestCommitIds(), [first.id, second.id]);
    const rows = await manifest.entriesFor(first.id);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].sessionId, "conversation-1");
    assert.equal(rows[0].canonicalUri, `sha256:${first.id}`);
    assert.deepEqual(await session.commit(), [first.id, second.id]);
    assert.deepEqual(session.pendingManifestCommitIds(), []);
    assert.equal(typeof (await manifest.entriesFor(second.id))[0].committedAtEpochMs, "number");
    const many = await session.putMany([{ bytes: text("m1"), meta: { mediaType: "text/plain" } }, { bytes: text("m2"), meta: { mediaType: "text/plain" } }]);
    assert.deepEqual(session.pendingManifestCommitIds(), many.map((r) => r.id), "putMany leaves every id pending");
    for (const ref of many) assert.equal((await manifest.entriesFor(ref.id))[0].sessionId, "conversation-1", "an intent per item");
    assert.deepEqual(await session.commit(), many.map((r) => r.id));
    const third = await session.put(text("third"), { mediaType: "text/plain" });
    session.markManifestCommitted([third.id]);
    assert.deepEqual(session.pendingManifestCommitIds(), [], "markManifestCommitted edits this view's list");
    assert.deepEqual(await session.commit(), [third.id], "a commit still covers the session's uncommitted row");
    assert.deepEqual(await session.commit(), []);
    assert.bytesEqual((await session.get(second.id)).bytes, text("second"));
  }
  await rejects(() => new MemoryAttachmentStore().session(""), "InvalidInput");
  await rejects(() => new MemoryAttachmentStore().session(42), "InvalidInput");
});

test("SessionScopedAttachmentStore over a JavaScript store and manifest records the intent first", async () => {
  const inner = new MapStore();
  const manifest = new MapManifest();
  const originalPut = inner.put.bind(inner);
  inner.put = async (bytes, meta) => {
    manifest.calls.push("put");
    return originalPut(bytes, meta);
  };
  const session = new SessionScopedAttachmentStore(inner, manifest, "js-session");
  const ref = await session.put(text("js bytes"), { mediaType: "text/plain", label: "j" });
  assert.deepEqual(manifest.calls, ["recordIntent", "put"]);
  assert.equal(ref.label, "j");
  assert.deepEqual(await session.commit(), [ref.id]);
  assert.equal(typeof (await manifest.entriesFor(ref.id))[0].committedAtEpochMs, "number");
  assert.equal(session.persistence, "ephemeral");
  await rejects(() => new SessionScopedAttachmentStore({}, manifest, "s"), "InvalidInput");
  await rejects(() => new SessionScopedAttachmentStore(inner, { recordIntent() {} }, "s"), "InvalidInput");
});

test("errors thrown by a JavaScript store keep their code and cause", async () => {
  const failing = new MapStore();
  const boom = new TypeError("disk on fire");
  failing.put = async () => { throw boom; };
  const session = new SessionScopedAttachmentStore(failing, new MapManifest(), "s");
  const error = await rejects(session.put(text("x"), { mediaType: "text/plain" }), "Backend");
  assert.equal(error.cause, boom);
  await rejects(session.get(ABC_ID), "NotFound");
});

/** A session's view over `store` and `manifest`: the store's own, or one over both. */
const viewOf = (store, manifest, sessionId) => (typeof store.session === "function" ? store.session(sessionId) : new SessionScopedAttachmentStore(store, manifest, sessionId));

async function seedSweep(store, manifest) {
  // Session puts dated `at` (the intent refreshed to that time): plain puts are never swept.
  const put = async (s, session, at) => {
    const bytes = text(s);
    const id = contentId(bytes);
    await viewOf(store, manifest, session).put(bytes, { mediaType: "text/plain" });
    await manifest.recordIntent({ attachmentId: id, sessionId: session, canonicalUri: `sha256:${id}`, intentAtEpochMs: at });
    return id;
  };
  const orphan = await put("orphan", "s1", 1000);
  const committed = await put("committed", "s1", 1000);
  await manifest.commitRefs("s1", [committed]);
  const young = await put("young", "s1", 3000);
  const shared = await put("shared", "s1", 1000);
  await put("shared", "s2", 1000);
  await manifest.commitRefs("s2", [shared]);
  return { orphan, committed, young, shared };
}

test("reclaimOrphanedAttachments: aged orphans go, committed and young stay, with a report and progress", async () => {
  for (const make of [kinds.indexeddb, kinds.memory, async () => ({ store: new MapStore(), manifest: new MapManifest() })]) {
    const { store, manifest } = await make();
    const ids = await seedSweep(store, manifest);
    const progress = [];
    const report = await reclaimOrphanedAttachments(manifest, store, 2000, { onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(report, { scannedIntentCount: 2, reclaimedCount: 2, deletedCount: 1, deletedBytes: 6 });
    assert.deepEqual(progress[0], [0, 2], "progress starts at (0, total)");
    assert.deepEqual(progress.at(-1), [2, 2], "progress ends at (total, total)");
    assert.ok(progress.every(([done], i) => i === 0 || done > progress[i - 1][0]), `progress rises: ${JSON.stringify(progress)}`);
    await rejects(store.get(ids.orphan), "NotFound");
    for (const kept of [ids.committed, ids.young, ids.shared]) assert.ok(await store.head(kept), "kept");
  }
});

test("reclaimOrphanedAttachments: an aborted signal stops the sweep with the reason as cause", async () => {
  const { store, manifest } = await kinds.indexeddb();
  const ids = await seedSweep(store, manifest);
  const controller = new AbortController();
  controller.abort();
  const error = await rejects(reclaimOrphanedAttachments(manifest, store, 2000, { signal: controller.signal }), "Backend");
  assert.equal(error.cause, controller.signal.reason);
  assert.ok(await store.head(ids.orphan), "nothing was reclaimed");
  const midway = new AbortController();
  const report = reclaimOrphanedAttachments(manifest, store, 2000, { signal: midway.signal, onProgress: (done) => done === 0 && midway.abort() });
  await rejects(report, "Backend");
  assert.ok(await store.head(ids.orphan), "aborted after the first progress report: nothing reclaimed");
  const throwing = reclaimOrphanedAttachments(manifest, store, 2000, { onProgress: () => { throw new RangeError("bad bar"); } });
  assert.equal((await rejects(throwing, "Backend")).cause.message, "bad bar");
  await rejects(reclaimOrphanedAttachments(manifest, store, 2000, { signal: "nope" }), "InvalidInput");
  await rejects(reclaimOrphanedAttachments(manifest, store, "later"), "InvalidInput");
  await rejects(reclaimOrphanedAttachments({}, store, 1), "InvalidInput");
});

test("calls back into the library from inside its own calls work (a JavaScript store, a sweep's onProgress)", async () => {
  // A store and a manifest whose methods call the library synchronously, while it is running.
  const memory = new MemoryAttachmentStore();
  const nested = [];
  class CallingStore extends MapStore {
    put(bytes, meta) {
      nested.push(memory.put(bytes, meta), memory.head(contentId(bytes)), memory.list());
      return super.put(bytes, meta);
    }
  }
  const store = new CallingStore();
  const manifest = new MapManifest();
  const session = new SessionScopedAttachmentStore(store, manifest, "s");
  const ref = await session.put(text("called back"), { mediaType: "text/plain" });
  const [put, head, list] = await Promise.all(nested);
  assert.equal(put.id, ref.id);
  assert.ok(head === undefined || head.id === ref.id);
  assert.ok(Array.isArray(list));
  assert.deepEqual((await memory.get(ref.id)).bytes, text("called back"));
  // A sweep whose progress callback reads and writes the very store being swept.
  for (const make of [kinds.indexeddb, kinds.memory]) {
    const { store, manifest } = await make();
    const ids = await seedSweep(store, manifest);
    const during = [];
    const report = await reclaimOrphanedAttachments(manifest, store, 2000, {
      onProgress: (done) => during.push(store.head(ids.committed), store.put(text(`progress ${done}`), { mediaType: "text/plain" }), store.list()),
    });
    assert.equal(report.deletedCount, 1);
    const settled = await Promise.all(during);
    assert.ok(settled.length >= 6 && settled.every((value) => value !== undefined), "every nested call settled");
    await rejects(store.get(ids.orphan), "NotFound");
    assert.ok(await store.head(ids.committed), "committed kept");
  }
});

test("resolveLlmRequestAttachments fills references and leaves the rest; a failure changes nothing", async () => {
  const { store } = await kinds.indexeddb();
  const image = await store.put(text("png bytes"), { mediaType: "image/png" });
  const inline = text("inline");
  const request = {
    model: "m",
    attachments: [
      { mime: "application/octet-stream", reference: image },
      { mime: "x/y", data: new Uint8Array(), reference: image },
      { mime: "text/plain", data: inline, reference: image },
      { mime: "text/plain" },
    ],
  };
  const resolved = await resolveLlmRequestAttachments(request, store);
  assert.equal(resolved, request, "resolves with the same request");
  assert.equal(request.attachments[0].mime, "image/png");
  assert.bytesEqual(request.attachments[0].data, text("png bytes"));
  assert.bytesEqual(request.attachments[1].data, text("png bytes"));
  assert.equal(request.attachments[2].data, inline);
  assert.equal(request.attachments[3].data, undefined);
  const failing = { attachments: [{ mime: "a/b", reference: image }, { mime: "a/b", reference: { ...image, id: ABC_ID } }] };
  await rejects(resolveLlmRequestAttachments(failing, store), "NotFound");
  assert.equal(failing.attachments[0].data, undefined, "nothing changed");
  await rejects(resolveLlmRequestAttachments({}, store), "InvalidInput");
  await rejects(resolveLlmRequestAttachments({ attachments: [1] }, store), "InvalidInput");
});

test("a few hundred randomly wrong-typed calls all reject with a typed error; the module stays usable", async () => {
  const { store, manifest } = await kinds.indexeddb();
  const memory = new MemoryAttachmentStore();
  const session = store.session("fuzz");
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const junk = [undefined, null, 0, -1, 1.5, NaN, Infinity, "", "x", "sha256:", true, {}, [], [1, "a"], () => 1, Symbol("s"), 10n,
    new Date(), new Map(), { mediaType: 5 }, { mediaType: "text/plain", width: "wide" }, { attachmentId: 1 }, new Uint16Array(2), new DataView(new ArrayBuffer(2)), new Error("e")];
  const pick = () => junk[Math.floor(random() * junk.length)];
  const calls = [
    () => store.put(pick(), pick()), () => store.get(pick()), () => store.head(pick()), () => store.delete(pick()),
    () => memory.put(pick(), pick()), () => memory.get(pick()), () => session.put(pick(), pick()),
    () => manifest.recordIntent(pick()), () => manifest.commitRefs(pick(), pick()), () => manifest.listUncommitted(pick()),
    () => manifest.forget(pick(), pick()), () => manifest.entriesFor(pick()), () => contentId(pick()), () => contentIdOf(pick()),
    () => reclaimOrphanedAttachments(pick(), pick(), pick(), pick()), () => resolveLlmRequestAttachments(pick(), pick()),
    () => new SessionScopedAttachmentStore(pick(), pick(), pick()), () => store.session(pick()), () => session.markManifestCommitted(pick()),
    () => IndexedDbAttachmentStore.open(pick()),
  ];
  let typed = 0;
  for (let i = 0; i < 400; i++) {
    const call = calls[Math.floor(random() * calls.length)];
    try {
      const result = await call();
      // A handful of junk values are valid (delete of a malformed id, head -> undefined, open("x")).
      if (result instanceof IndexedDbAttachmentStore) result.close();
    } catch (error) {
      if (!(error instanceof AttachmentStoreError) || !["InvalidInput", "NotFound"].includes(error.code)) {
        throw new Error(`call ${i} (${call}) threw ${error?.constructor?.name} ${error?.code}: ${error?.message}`);
      }
      typed++;
    }
  }
  assert.ok(typed > 250, `most junk calls reject (${typed})`);
  const ref = await store.put(text("still works"), { mediaType: "text/plain" });
  assert.bytesEqual((await store.get(ref.id)).bytes, text("still works"));
  const memoryRef = await memory.put(text("memory too"), { mediaType: "text/plain" });
  assert.equal((await memory.get(memoryRef.id)).meta.byteLen, 10);
});

// ---- §8: the life of a session ------------------------------------------------------------

/** A MapManifest with the optional lifecycle members a JavaScript manifest may have. */
class LifecycleMapManifest extends MapManifest {
  states = new Map();
  async commitSession(sessionId, ids, state) {
    await this.commitRefs(sessionId, ids);
    this.states.set(sessionId, structuredClone(state));
  }
  async sessionState(sessionId) {
    return this.states.has(sessionId) ? structuredClone(this.states.get(sessionId)) : undefined;
  }
  async releaseSession(sessionId) {
    for (const row of this.rows.values()) {
      if (row.sessionId !== sessionId) continue;
      delete row.committedAtEpochMs;
      row.intentAtEpochMs = Date.now();
    }
    this.states.delete(sessionId);
  }
}

/** Every store kind, with what its lifecycle tests need. */
const lifecycleKinds = {
  async indexeddb() {
    const store = await IndexedDbAttachmentStore.open(freshName());
    return { store, manifest: store.manifest, anotherTab: () => IndexedDbAttachmentStore.open(store.name) };
  },
  async memory() {
    const store = new MemoryAttachmentStore();
    // "Another tab" of a memory store: a fresh view over the same store.
    const anotherTab = async () => ({ session: (id) => new SessionScopedAttachmentStore(store, store.manifest, id), delete: (id) => store.delete(id) });
    return { store, manifest: store.manifest, anotherTab };
  },
  async "a JavaScript store and manifest"() {
    const inner = new MapStore();
    const manifest = new LifecycleMapManifest();
    const views = new Map();
    // Shaped like our stores: one view per session, and the lifecycle through the view.
    // A well-kept third-party store deletes an attachment's rows with it.
    const store = {
      put: (...args) => inner.put(...args), get: (id) => inner.get(id), head: (id) => inner.head(id), list: () => inner.list(),
      delete: async (id) => { await inner.delete(id); await manifest.forget(id); },
      session: (id) => views.get(id) ?? views.set(id, new SessionScopedAttachmentStore(inner, manifest, id)).get(id),
      sessionState: (id) => store.session(id).sessionState(id),
      releaseSession: (id) => store.session(id).releaseSession(id),
    };
    const anotherTab = async () => ({ session: (id) => new SessionScopedAttachmentStore(inner, manifest, id), delete: store.delete });
    return { store, manifest, anotherTab };
  },
};

const later = () => Date.now() + 60_000;
const sweepAll = (store, manifest) => reclaimOrphanedAttachments(manifest, store, later());
const rowOf = async (manifest, sessionId, id) => (await manifest.entriesFor(id)).find((row) => row.sessionId === sessionId);

for (const [kind, make] of Object.entries(lifecycleKinds)) {
  test(`${kind}: a commit after a sweep reclaimed its intent rejects with the ids and writes nothing; a re-put makes it whole`, async () => {
    const { store, manifest } = await make();
    const session = store.session("left-open");
    const gone = await session.put(text("left open for a day"), { mediaType: "text/plain" });
    await sweepAll(store, manifest); // another tab, a day later
    const kept = await session.put(text("put after the sweep"), { mediaType: "text/plain" });
    const error = await rejects(session.commit({ turns: 1 }), "NotFound");
    assert.deepEqual(error.ids, [gone.id], "error.ids names what is gone");
    assert.equal((await rowOf(manifest, "left-open", kept.id)).committedAtEpochMs, undefined, "nothing stamped");
    assert.equal(await store.sessionState("left-open"), undefined, "no state saved");
    assert.deepEqual(session.pendingManifestCommitIds(), [gone.id, kept.id], "both stay pending");
    await session.put(text("left open for a day"), { mediaType: "text/plain" });
    assert.deepEqual(await session.commit({ turns: 1 }), [gone.id, kept.id]);
    assert.deepEqual(await store.sessionState("left-open"), { turns: 1 });
    await sweepAll(store, manifest);
    for (const ref of [gone, kept]) assert.ok(await store.head(ref.id), "committed: kept through a later sweep");
  });

  test(`${kind}: a commit after another tab deleted an attachment rejects naming it`, async () => {
    const { store, manifest, anotherTab } = await make();
    const session = store.session("s");
    const doomed = await session.put(text("deleted elsewhere"), { mediaType: "text/plain" });
    await (await anotherTab()).delete(doomed.id);
    assert.deepEqual((await rejects(session.commit(), "NotFound")).ids, [doomed.id]);
    assert.deepEqual(await manifest.entriesFor(doomed.id), [], "the delete removed every row");
    await session.put(text("deleted elsewhere"), { mediaType: "text/plain" });
    assert.deepEqual(await session.commit(), [doomed.id]);
  });

  test(`${kind}: commit(state) lands the state with the stamps; sessionState hands out copies`, async () => {
    const { store } = await make();
    const session = store.session("chat");
    const ref = await session.put(text("photo"), { mediaType: "image/png" });
    const state = { title: "Cats", turns: [{ role: "user", attachments: [ref.id] }], at: new Date(5) };
    assert.deepEqual(await session.commit(state), [ref.id]);
    state.title = "changed by the caller afterwards";
    const saved = await store.sessionState("chat");
    assert.equal(saved.title, "Cats", "later changes to the caller's object change nothing stored");
    assert.ok(saved.at instanceof Date && saved.at.getTime() === 5, "structured-cloned, not JSON");
    saved.turns.length = 0;
    assert.equal((await store.sessionState("chat")).turns.length, 1, "each read is a fresh copy");
    assert.deepEqual(await session.commit(), [], "a commit without state keeps the state");
    assert.equal((await store.sessionState("chat")).title, "Cats");
    assert.equal(await store.sessionState("never-committed"), undefined);
    await rejects(() => store.sessionState(""), "InvalidInput");
  });

  test(`${kind}: a view made later commits what the session put before; pending() shows it`, async () => {
    const { store, manifest, anotherTab } = await make();
    const earlier = await store.session("c").put(text("put before the reload"), { mediaType: "text/plain" });
    // Another tab (or this page after a reload) makes its own view of the same session.
    const view = (await anotherTab()).session("c");
    assert.deepEqual(await view.pending(), [earlier.id], "pending() reads the session's rows");
    assert.deepEqual(await view.commit(), [earlier.id], "the commit covers the session");
    assert.equal(typeof (await rowOf(manifest, "c", earlier.id)).committedAtEpochMs, "number");
    assert.deepEqual(await view.pending(), []);
  });

  test(`${kind}: discard forgets and deletes what nothing else holds`, async () => {
    const { store, manifest } = await make();
    const session = store.session("s");
    const alone = await session.put(text("only mine"), { mediaType: "text/plain" });
    const shared = await session.put(text("shared"), { mediaType: "text/plain" });
    await store.session("other").put(text("shared"), { mediaType: "text/plain" });
    await session.discard([alone.id, `sha256:${shared.id}`]);
    assert.deepEqual(session.pendingManifestCommitIds(), [], "discarded ids leave pending");
    await rejects(store.get(alone.id), "NotFound");
    assert.ok(await store.head(shared.id), "another session's row holds it");
    assert.deepEqual((await manifest.entriesFor(shared.id)).map((row) => row.sessionId), ["other"]);
    await rejects(session.discard("all"), "InvalidInput");
  });

  test(`${kind}: releaseSession, then a sweep after the grace period reclaims what no other session holds`, async () => {
    const { store, manifest } = await make();
    const released = store.session("deleted-conversation");
    const own = await released.put(text("only the deleted conversation's"), { mediaType: "text/plain" });
    const shared = await released.put(text("shared with another"), { mediaType: "text/plain" });
    await released.commit({ title: "gone soon" });
    await store.session("other").put(text("shared with another"), { mediaType: "text/plain" });
    await store.session("other").commit();
    const before = Date.now();
    await store.releaseSession("deleted-conversation");
    assert.equal(await store.sessionState("deleted-conversation"), undefined, "the state is gone");
    const row = await rowOf(manifest, "deleted-conversation", own.id);
    assert.ok(row.committedAtEpochMs === undefined && row.intentAtEpochMs >= before, JSON.stringify(row));
    assert.equal((await reclaimOrphanedAttachments(manifest, store, before - 3_600_000)).deletedCount, 0, "kept during the grace period");
    const report = await sweepAll(store, manifest);
    assert.equal(report.deletedCount, 1, JSON.stringify(report));
    await rejects(store.get(own.id), "NotFound");
    assert.ok(await store.head(shared.id), "what another session committed is kept");
  });
}

for (const kind of ["indexeddb", "memory"]) {
  test(`${kind}: plain puts are never swept, also when a session intends the same bytes and never commits`, async () => {
    const { store, manifest } = await lifecycleKinds[kind]();
    const plain = await store.put(text("a plain put"), { mediaType: "text/plain" });
    await store.session("s").put(text("a plain put"), { mediaType: "text/plain" });
    await store.session("s").put(text("session first"), { mediaType: "text/plain" });
    const after = await store.put(text("session first"), { mediaType: "text/plain" });
    const report = await sweepAll(store, manifest);
    assert.deepEqual(report, { scannedIntentCount: 2, reclaimedCount: 2, deletedCount: 0, deletedBytes: 0 });
    for (const ref of [plain, after]) assert.ok(await store.head(ref.id), "kept");
    await store.session("s").put(text("a plain put"), { mediaType: "text/plain" });
    await store.session("s").discard([plain.id]);
    assert.ok(await store.head(plain.id), "a discard keeps it too");
  });

  test(`${kind}: a state the store cannot keep rejects InvalidInput and writes neither stamps nor state`, async () => {
    const { store, manifest } = await lifecycleKinds[kind]();
    const session = store.session("s");
    const ref = await session.put(text("x"), { mediaType: "text/plain" });
    await rejects(session.commit({ callback: () => 1 }), "InvalidInput");
    assert.equal((await rowOf(manifest, "s", ref.id)).committedAtEpochMs, undefined, "the stamp did not land");
    assert.equal(await store.sessionState("s"), undefined);
    assert.deepEqual(await session.commit(null), [ref.id], "null is a state too");
    assert.equal(await store.sessionState("s"), null);
  });

  test(`${kind}: store.session(id) and store.manifest are the same object on every access`, async () => {
    const { store } = await lifecycleKinds[kind]();
    assert.ok(store.session("a") === store.session("a") && store.session("a") !== store.session("b"));
    assert.ok(store.manifest === store.manifest);
    await store.session("a").put(text("seen by every access"), { mediaType: "text/plain" });
    assert.equal(store.session("a").pendingManifestCommitIds().length, 1, "one pending list per session");
  });
}

test("commit(state) over a JavaScript manifest without commitSession rejects InvalidInput and writes nothing", async () => {
  const manifest = new MapManifest();
  const session = new SessionScopedAttachmentStore(new MapStore(), manifest, "s");
  const ref = await session.put(text("x"), { mediaType: "text/plain" });
  await rejects(session.commit({ any: "state" }), "InvalidInput");
  assert.equal((await manifest.entriesFor(ref.id))[0].committedAtEpochMs, undefined);
  await rejects(session.releaseSession("s"), "InvalidInput");
  assert.equal(await session.sessionState("s"), undefined, "a manifest without sessionState keeps none");
  assert.deepEqual(await session.commit(), [ref.id], "commit() works through commitRefs");
  const lifecycle = new LifecycleMapManifest();
  const calls = [];
  lifecycle.commitSession = async (sessionId, ids, state) => void calls.push([sessionId, ids, state]);
  const full = new SessionScopedAttachmentStore(new MapStore(), lifecycle, "t");
  const other = await full.put(text("y"), { mediaType: "text/plain" });
  await full.commit({ n: 1 });
  assert.deepEqual(calls, [["t", [other.id], { n: 1 }]]);
});

test("reclaimOrphanedAttachments: an already-aborted signal rejects before reading, also with nothing to sweep", async () => {
  for (const make of [lifecycleKinds.indexeddb, lifecycleKinds.memory]) {
    const { store, manifest } = await make();
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    const error = await rejects(reclaimOrphanedAttachments(manifest, store, Date.now(), { signal: controller.signal }), "Backend");
    assert.equal(error.cause.message, "stop");
  }
});

// ---- §12: conveniences a new user expects ---------------------------------------------------

for (const kind of ["indexeddb", "memory"]) {
  test(`${kind}: a Blob or File needs no meta: its type without parameters and its name fill it in`, async () => {
    const { store } = await lifecycleKinds[kind]();
    const file = new File([text("no type known")], "notes.weird");
    assert.equal(file.type, "", "the browser has no type for it");
    assert.deepEqual(await store.put(file), { id: contentId(text("no type known")), mediaType: "application/octet-stream", byteLen: 13, label: "notes.weird" });
    const fetched = new Blob([text("from fetch")], { type: "text/plain;charset=utf-8" });
    assert.equal((await store.put(fetched, { mediaType: "" })).mediaType, "text/plain", "parameters dropped; empty means default");
    const photo = new File([text("jpeg bytes")], "cat.jpg", { type: "image/jpg" });
    assert.deepEqual(await store.put(photo, { width: 2, height: 1 }), { id: contentId(text("jpeg bytes")), mediaType: "image/jpeg", byteLen: 10, width: 2, height: 1, label: "cat.jpg" });
    assert.equal((await store.put(photo, { label: "renamed" })).label, "renamed", "an explicit label wins");
    assert.equal((await store.put(photo, { mediaType: "image/png" })).mediaType, "image/png", "an explicit type wins");
    await rejects(store.put(photo, { mediaType: "image/png; q=1" }), "InvalidInput", "an explicit type is validated as ever");
    await rejects(store.put(text("bytes"), { label: "x" }), "InvalidInput", "other bytes still need a mediaType");
    await rejects(store.put(text("bytes")), "InvalidInput");
    const [many] = await store.putMany([{ bytes: new File([text("many")], "m.bin") }]);
    assert.equal(many.label, "m.bin");
    await rejects(store.session("s").put(photo, 5), "InvalidInput", "a meta that is not an object");
  });

  test(`${kind}: getDataUrl gives what model SDKs take`, async () => {
    const { store } = await lifecycleKinds[kind]();
    const png = new Uint8Array(100_003).map((_, i) => (i * 7) & 255); // more than one piece of base64
    const ref = await store.put(png, { mediaType: "image/png" });
    const url = await store.getDataUrl(ref.id);
    assert.ok(url.startsWith("data:image/png;base64,"), url.slice(0, 40));
    const decoded = new Uint8Array(await (await fetch(url)).arrayBuffer());
    assert.bytesEqual(decoded, png, "the data URL decodes to the bytes");
    const small = await store.put(text("hi"), { mediaType: "text/plain" });
    assert.equal(await store.getDataUrl(`sha256:${small.id}`), `data:text/plain;base64,${btoa("hi")}`);
    assert.equal(await store.session("s").getDataUrl(small.id), `data:text/plain;base64,aGk=`);
    await rejects(store.getDataUrl(ABC_ID), "NotFound");
    await rejects(store.getDataUrl("nope"), "NotFound");
  });
}

test("error messages show the bad value", async () => {
  const store = new MemoryAttachmentStore();
  const message = async (call) => (await rejects(call(), "InvalidInput")).message;
  assert.ok((await message(() => store.put(text("x"), { mediaType: "image/png", width: 1.5 }))).includes("meta.width must be a whole number from 0 to 4294967295, got 1.5"));
  assert.ok((await message(() => store.put(text("x"), { mediaType: "image/png", height: "tall" }))).includes('got "tall"'));
  assert.ok((await message(() => store.manifest.listUncommitted(NaN))).includes("got NaN"));
  assert.ok((await message(() => store.put(text("x"), { mediaType: "image/png" }, { transfer: "yes" }))).includes('got "yes"'));
  assert.ok((await message(() => store.put(42, { mediaType: "image/png" }))).includes("got 42"));
});
