// Contract §10: attachments of any size. Blobs, Files and streams in; Blobs, streams, ranges and
// HTTP out, on every store kind (IndexedDB with its Blob layout, IndexedDB with the Blob probe's
// fallback forced, memory).
import { AttachmentStoreError, IndexedDbAttachmentStore, MemoryAttachmentStore, contentId, contentIdOf, serveAttachment } from "web-attachments";
import { assert, test } from "./harness.js";

const rejects = (p, code, message) => assert.rejects(p, code, AttachmentStoreError, message);
let counter = 0;
const freshName = () => `large-${Date.now()}-${counter++}-${Math.random().toString(36).slice(2)}`;
const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** `length` incompressible-ish bytes, made cheaply (a seeded generator, 4 bytes a step). */
function bytesOf(length, seed = 1) {
  const bytes = new Uint8Array(length);
  const words = new Uint32Array(bytes.buffer, 0, Math.floor(length / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) bytes[i] = i & 255;
  return bytes;
}

const streamOf = (chunks) => new ReadableStream({ start(controller) { for (const chunk of chunks) controller.enqueue(chunk); controller.close(); } });

async function readAll(stream) {
  const parts = [];
  for (const reader = stream.getReader(); ;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) (out.set(part, at), (at += part.length));
  return out;
}

const kinds = {
  indexeddb: () => IndexedDbAttachmentStore.open(freshName()),
  "indexeddb, Blob probe's fallback forced": () => IndexedDbAttachmentStore.open(freshName(), { storeBlobs: false }),
  memory: async () => new MemoryAttachmentStore(),
};

/** The raw value IndexedDB holds under `key` in `bytes`. */
async function rawBytesRecord(name, key) {
  const db = await new Promise((ok) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); });
  const value = await new Promise((ok) => { const r = db.transaction("bytes").objectStore("bytes").get(key); r.onsuccess = () => ok(r.result); });
  db.close();
  return value;
}

for (const [kind, open] of Object.entries(kinds)) {
  test(`${kind}: Blobs, Files and streams in; get, getBlob and getStream out, ranges at the edges`, async () => {
    const store = await open();
    const bytes = bytesOf(200_000, 7);
    const fromFile = await store.put(new File([bytes.subarray(0, 100_000), bytes.subarray(100_000)], "data.bin", { type: "application/pdf" }));
    assert.deepEqual([fromFile.id, fromFile.mediaType, fromFile.byteLen, fromFile.label], [contentId(bytes), "application/pdf", 200_000, "data.bin"]);
    const fromStream = await store.put(streamOf([bytes.subarray(0, 1), bytes.subarray(1, 70_000), bytes.subarray(70_000)]), { mediaType: "video/mp4" });
    assert.equal(fromStream.id, fromFile.id, "the same bytes through a stream, the same id");
    assert.bytesEqual((await store.get(fromFile.id)).bytes, bytes, "get reads every layout");
    const blob = await store.getBlob(fromFile.id);
    assert.ok(blob instanceof Blob && blob.type === "video/mp4" && blob.size === 200_000, `${blob.type} ${blob.size}`);
    assert.bytesEqual(new Uint8Array(await blob.arrayBuffer()), bytes);
    assert.bytesEqual(await readAll(await store.getStream(fromFile.id)), bytes);
    for (const [range, start, end] of [[{ start: 0, end: 1 }, 0, 1], [{ start: 199_999 }, 199_999, 200_000], [{ start: 65_535, end: 65_537 }, 65_535, 65_537], [{ start: 10, end: 1e9 }, 10, 200_000], [{ start: 200_000 }, 200_000, 200_000]]) {
      const expected = bytes.subarray(start, end);
      assert.bytesEqual(new Uint8Array(await (await store.getBlob(fromFile.id, range)).arrayBuffer()), expected, JSON.stringify(range));
      assert.bytesEqual(await readAll(await store.getStream(fromFile.id, range)), expected, JSON.stringify(range));
    }
    await rejects(store.getBlob(fromFile.id, { start: 200_001 }), "InvalidInput", "a start past the end");
    await rejects(store.getStream(fromFile.id, { start: 5, end: 4 }), "InvalidInput");
    await rejects(store.getBlob(fromFile.id, { start: 1.5 }), "InvalidInput");
    await rejects(store.getStream(contentId(new Uint8Array([1])), undefined), "NotFound", "NotFound up front");
    await rejects(store.getBlob("nope"), "NotFound");
    const empty = await store.put(new Blob([]), { mediaType: "text/plain" });
    assert.equal((await store.getBlob(empty.id)).size, 0);
    assert.equal((await readAll(await store.getStream(empty.id))).length, 0, "an empty attachment streams nothing");
    const small = await store.put(streamOf([new TextEncoder().encode("small stream")]), { mediaType: "text/plain" });
    assert.equal(new TextDecoder().decode((await store.get(small.id)).bytes), "small stream");
    await rejects(store.put(streamOf(["not bytes"]), { mediaType: "text/plain" }), "InvalidInput", "a stream of strings");
    const locked = streamOf([new Uint8Array(1)]);
    locked.getReader();
    await rejects(store.put(locked, { mediaType: "text/plain" }), "InvalidInput", "a locked stream");
    assert.equal((await store.put(new Uint8Array([1]), { mediaType: "text/plain" })).byteLen, 1, "still usable");
  });

  test(`${kind}: serveAttachment answers with the contract's HTTP semantics`, async () => {
    const store = await open();
    const bytes = bytesOf(100_000, 3);
    const ref = await store.put(new Blob([bytes], { type: "image/png" }));
    const url = (path) => new URL(path, location.origin).href;
    const serve = (path, init) => serveAttachment(new Request(url(path), init), store);
    const whole = await serve(`/attachments/${ref.id}`);
    assert.equal(whole.status, 200);
    assert.deepEqual(["content-type", "content-length", "etag", "accept-ranges", "cache-control"].map((h) => whole.headers.get(h)),
      ["image/png", "100000", `"${ref.id}"`, "bytes", "public, max-age=31536000, immutable"]);
    assert.bytesEqual(new Uint8Array(await whole.arrayBuffer()), bytes);
    for (const [range, start, end] of [["bytes=0-0", 0, 1], ["bytes=99999-", 99_999, 100_000], ["bytes=-10", 99_990, 100_000], ["bytes=10-19", 10, 20], ["bytes=99990-200000", 99_990, 100_000]]) {
      const partial = await serve(`/attachments/sha256:${ref.id}`, { headers: { range } });
      assert.equal(partial.status, 206, range);
      assert.equal(partial.headers.get("content-range"), `bytes ${start}-${end - 1}/100000`, range);
      assert.equal(partial.headers.get("content-length"), String(end - start), range);
      assert.bytesEqual(new Uint8Array(await partial.arrayBuffer()), bytes.subarray(start, end), range);
    }
    const past = await serve(`/attachments/${ref.id}`, { headers: { range: "bytes=100000-" } });
    assert.deepEqual([past.status, past.headers.get("content-range")], [416, "bytes */100000"]);
    const cached = await serve(`/attachments/${ref.id}`, { headers: { "if-none-match": `"${ref.id}"` } });
    assert.deepEqual([cached.status, (await cached.text()).length], [304, 0]);
    const head = await serve(`/attachments/${ref.id}`, { method: "HEAD" });
    assert.deepEqual([head.status, head.headers.get("content-length"), head.body], [200, "100000", null]);
    for (const path of [`/attachments/${contentId(new Uint8Array([9]))}`, "/attachments/not-an-id", "/attachments/"]) {
      const missing = await serve(path);
      assert.deepEqual([missing.status, (await missing.json()).code], [404, "NotFound"], path);
    }
    const post = await serve(`/attachments/${ref.id}`, { method: "POST", body: "x" });
    assert.deepEqual([post.status, post.headers.get("allow")], [405, "GET, HEAD"]);
    assert.equal(await serve(`/elsewhere/${ref.id}`), undefined, "outside the prefix: not ours");
    const prefixed = await serveAttachment(new Request(url(`/files/${ref.id}`)), store, { prefix: "/files/" });
    assert.equal(prefixed.status, 200);
    const empty = await store.put(new Uint8Array(), { mediaType: "text/plain" });
    const none = await serve(`/attachments/${empty.id}`, { headers: { range: "bytes=0-" } });
    assert.equal(none.status, 416, "nothing to give of an empty attachment");
    assert.equal((await serve(`/attachments/${empty.id}`)).headers.get("content-length"), "0");
    await rejects(serveAttachment("not a request", store), "InvalidInput");
    await rejects(serveAttachment(new Request(url("/attachments/x")), store, { prefix: "files" }), "InvalidInput");
  });

  test(`${kind}: a stream cancelled midway leaves nothing in flight, and the store keeps working`, async () => {
    const store = await open();
    // Over 32 MiB put as bytes: chunked on IndexedDB, read one chunk per pull.
    const bytes = bytesOf(34 * 1024 * 1024, 5);
    const ref = await store.put(bytes, { mediaType: "application/octet-stream" });
    const reader = (await store.getStream(ref.id)).getReader();
    const first = await reader.read();
    assert.ok(!first.done && first.value.length > 0);
    await reader.cancel();
    // A write right after: no read transaction is left holding it up.
    const started = Date.now();
    await store.delete(ref.id);
    assert.equal(await store.head(ref.id), undefined);
    assert.ok(Date.now() - started < 5000, "the delete was not held up");
    const again = await store.put(new Uint8Array([1, 2, 3]), { mediaType: "text/plain" });
    assert.equal((await store.get(again.id)).bytes.length, 3);
  });
}

test("indexeddb: large Blobs are stored as Blobs where the probe allows (Chromium, Firefox), as buffers where it does not or is forced off", async () => {
  const bytes = bytesOf(40 * 1024 * 1024, 11); // over 32 MiB: hashed through its stream
  const keepsBlobs = /Chrome|Firefox/.test(navigator.userAgent); // never in WebKit (its Blob files can stay empty on a full disk)
  for (const [options, kind] of [[undefined, keepsBlobs ? Blob : ArrayBuffer], [{ storeBlobs: false }, ArrayBuffer]]) {
    const store = await IndexedDbAttachmentStore.open(freshName(), options);
    assert.equal(await store.storesBlobs(), kind === Blob, `the probe's answer, ${JSON.stringify(options)}`);
    const ref = await store.put(new Blob([bytes]), { mediaType: "application/octet-stream" });
    assert.equal(ref.id, contentId(bytes));
    const raw = await rawBytesRecord(store.name, ref.id);
    assert.ok(raw instanceof kind, `${JSON.stringify(options)}: stored as ${raw?.constructor?.name}`);
    assert.equal(hex(await crypto.subtle.digest("SHA-256", await (await store.getBlob(ref.id)).arrayBuffer())), ref.id);
    store.close();
  }
});

test("indexeddb: a 300 MB Blob of 1 MiB parts round-trips, its hashes compared (contentIdOf read it through its stream)", async () => {
  const part = bytesOf(1024 * 1024, 13);
  const parts = Array.from({ length: 300 }, (_, i) => { const copy = part.slice(); copy[0] = i; return copy; });
  const blob = new Blob(parts, { type: "video/mp4" });
  const id = await contentIdOf(blob);
  const store = await IndexedDbAttachmentStore.open(freshName());
  const ref = await store.put(blob);
  assert.deepEqual([ref.id, ref.byteLen, ref.mediaType], [id, 300 * 1024 * 1024, "video/mp4"]);
  assert.equal(await contentIdOf(await store.getBlob(ref.id)), id, "getBlob hashes to the id");
  // A range across part boundaries, through a stream.
  const middle = await readAll(await store.getStream(ref.id, { start: 5 * 1024 * 1024 - 3, end: 5 * 1024 * 1024 + 3 }));
  assert.deepEqual([...middle], [...part.subarray(-3), 5, ...part.subarray(1, 3)]);
  await store.delete(ref.id);
  await IndexedDbAttachmentStore.deleteDatabase(store.name);
});
