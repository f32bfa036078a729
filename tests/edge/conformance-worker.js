// Runs inside workerd: the Rust conformance suite against a Durable Object's real storage, and
// checks of what only the Durable Object backend does (chunking, one transaction per put).
import { DurableObjectAttachmentStore, contentId, reclaimOrphanedAttachments } from "web-attachments";
import { __runDurableObjectConformance } from "./wasm-workerd/web_attachments.js";

const CHUNK_LIMIT = 2 * 1000 * 1000; // the storage's per-value limit (2 MB)

async function chunking(storage) {
  const store = new DurableObjectAttachmentStore(storage, { prefix: `chunks-${Date.now()}/` });
  const big = new Uint8Array(5 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, Math.min(i + 65536, big.length)));
  const session = store.session("big");
  const ref = await session.put(big, { mediaType: "application/octet-stream", label: "big.bin" });
  const stored = [...(await storage.list())].filter(([key]) => key.includes(`b:${ref.id}:`));
  if (stored.length < 3) throw new Error(`expected the 5 MiB attachment in several chunks, found ${stored.length}`);
  for (const [key, value] of stored) if (value.byteLength > CHUNK_LIMIT) throw new Error(`${key} is ${value.byteLength} bytes`);
  const back = await store.get(ref.id);
  if (back.bytes.length !== big.length || contentId(back.bytes) !== ref.id) throw new Error("reassembled bytes differ");
  // An aged orphan of a chunked attachment: every chunk goes, nothing is left behind.
  const rows = await store.manifest.entriesFor(ref.id);
  if (rows.length !== 1 || rows[0].sessionId !== "big") throw new Error("intent row missing");
  const report = await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 60_000);
  if (report.deletedCount !== 1 || report.deletedBytes !== big.length) throw new Error(`report ${JSON.stringify(report)}`);
  const left = [...(await storage.list())].filter(([key]) => key.includes(ref.id));
  if (left.length) throw new Error(`${left.length} keys left after the sweep`);
  return `${stored.length} chunks, each within the limit; reassembled; swept without leftovers`;
}

async function uncommittedIndex(storage) {
  // Rows as the release before the index wrote them (r:<id>:<session> only, no q: copy, no Q
  // mark), written here by hand in that layout: the index is built on first use, pages come from
  // it, and a sweep reclaims the old orphans while a commit after it is kept.
  const prefix = `index-${Date.now()}/`;
  const old = new DurableObjectAttachmentStore(storage, { prefix });
  const ids = [];
  for (let i = 0; i < 30; i++) ids.push((await old.session(`s${i % 4}`).put(new Uint8Array([i, 1, 2]), { mediaType: "application/octet-stream" })).id);
  for (const [key] of await storage.list({ prefix: `${prefix}q:` })) await storage.delete(key);
  await storage.delete(`${prefix}Q`);
  if ((await storage.list({ prefix: `${prefix}q:` })).size) throw new Error("the old layout still has index entries");
  const store = new DurableObjectAttachmentStore(storage, { prefix });
  const whole = await store.manifest.listUncommitted(Date.now() + 1000);
  if (whole.length !== 30) throw new Error(`listed ${whole.length} of 30 rows written before the index`);
  const paged = [];
  for (let page, after; (page = await store.manifest.listUncommitted(Date.now() + 1000, { after, limit: 7 })).length; after = page.at(-1)) paged.push(...page);
  if (JSON.stringify(paged) !== JSON.stringify(whole)) throw new Error("pages of 7 differ from the listing");
  const kept = store.session("kept");
  const keptRef = await kept.put(new Uint8Array([9, 9]), { mediaType: "application/octet-stream" });
  await kept.commit();
  if ((await store.manifest.listUncommitted(Date.now() + 1000)).length !== 30) throw new Error("a committed row is listed");
  const report = await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 1000);
  if (report.deletedCount !== 30) throw new Error(`the sweep: ${JSON.stringify(report)}`);
  const left = [...(await storage.list({ prefix }))].map(([key]) => key.slice(prefix.length)).filter((key) => !key.startsWith("Q"));
  if (!(await store.head(keptRef.id)) || left.some((key) => key.startsWith("q:"))) throw new Error(`after the sweep: ${left.join(", ")}`);
  return `30 rows written before the index: listed and paged from it once built; swept, the committed one kept, no index entry left`;
}

async function rollback(storage) {
  // A write failing mid-transaction (a fault real storage will not produce on demand): the
  // session's intent row was written first, and must be rolled back with the failed chunk.
  const prefix = `rollback-${Date.now()}/`;
  const failChunks = (txn) => new Proxy(txn, {
    get: (target, name) => name === "put"
      ? (key, value) => (key.includes("/b:") ? Promise.reject(new Error("disk full")) : target.put(key, value))
      : target[name].bind(target),
  });
  const flaky = {
    get: (...args) => storage.get(...args),
    put: (...args) => storage.put(...args),
    delete: (...args) => storage.delete(...args),
    list: (...args) => storage.list(...args),
    transaction: (body) => storage.transaction((txn) => body(failChunks(txn))),
  };
  const store = new DurableObjectAttachmentStore(flaky, { prefix });
  let error;
  try {
    await store.session("s").put(new Uint8Array([1, 2, 3]), { mediaType: "application/octet-stream" });
  } catch (e) {
    error = e;
  }
  if (error?.code !== "Backend" || !String(error.cause?.message).includes("disk full")) throw new Error(`expected Backend(disk full), got ${error}`);
  const left = [...(await storage.list({ prefix }))];
  if (left.length) throw new Error(`the failed put left ${left.map(([k]) => k)}`);
  const ok = await new DurableObjectAttachmentStore(storage, { prefix }).session("s").put(new Uint8Array([1, 2, 3]), { mediaType: "application/octet-stream" });
  if ((await storage.list({ prefix })).size < 3) throw new Error("a good put after the failure did not land");
  return `a put failing mid-transaction rolls back its intent row; then ${ok.id.slice(0, 8)}… lands`;
}

async function commitState(storage) {
  // A state the storage cannot serialise (a function) fails inside the commit's transaction,
  // after its stamps were written: workerd rolls the transaction back, so neither lands.
  const store = new DurableObjectAttachmentStore(storage, { prefix: `state-${Date.now()}/` });
  const session = store.session("s");
  const ref = await session.put(new TextEncoder().encode("x"), { mediaType: "text/plain" });
  let error;
  try {
    await session.commit({ callback: () => 1 });
  } catch (e) {
    error = e;
  }
  if (error?.code !== "InvalidInput") throw new Error(`expected InvalidInput, got ${error?.code}: ${error?.message}`);
  const rows = await store.manifest.entriesFor(ref.id);
  if (rows.length !== 1 || rows[0].committedAtEpochMs !== undefined) throw new Error(`the stamp landed: ${JSON.stringify(rows)}`);
  if ((await store.sessionState("s")) !== undefined) throw new Error("the state landed");
  const ids = await session.commit({ title: "kept", at: new Date(3) });
  const saved = await store.sessionState("s");
  if (ids[0] !== ref.id || saved.title !== "kept" || !(saved.at instanceof Date)) throw new Error(`commit ${ids}, state ${JSON.stringify(saved)}`);
  return `a refused state (${error.message.slice(0, 60)}…) rolled back the stamps; a good one landed with them`;
}

async function upload(storage) {
  // A stream put: staged under an upload key as it arrives, published by one final transaction.
  const store = new DurableObjectAttachmentStore(storage, { prefix: `upload-${Date.now()}/` });
  const part = new Uint8Array(1 << 20);
  crypto.getRandomValues(part.subarray(0, 65536));
  // 20 MiB: staged in three transactions, so staged buffers are reused on the way.
  const parts = Array.from({ length: 20 }, (_, i) => { const copy = part.slice(); copy[0] = i; copy[part.length - 1] = i; return copy; });
  const stream = (chunks, failAfter = Infinity) => new ReadableStream({
    pull(controller) {
      if (failAfter-- <= 0) return controller.error(new Error("the connection dropped"));
      const next = chunks.shift();
      next ? controller.enqueue(next) : controller.close();
    },
  });
  const whole = new Uint8Array(20 << 20);
  parts.forEach((p, i) => whole.set(p, i << 20));
  const ref = await store.session("s").put(stream(parts.map((p) => p.slice())), { mediaType: "video/mp4" });
  if (ref.id !== contentId(whole) || ref.byteLen !== whole.length) throw new Error(`streamed put ${JSON.stringify(ref)}`);
  const read = new Uint8Array(await new Response(await store.getStream(ref.id)).arrayBuffer());
  if (contentId(read) !== ref.id) throw new Error("getStream differs");
  if ((await store.manifest.entriesFor(ref.id))[0]?.sessionId !== "s") throw new Error("no intent");
  const again = await store.put(stream(parts.map((p) => p.slice())), { mediaType: "video/mp4" });
  if (again.id !== ref.id) throw new Error("a repeat upload names the same content");
  const staged = async () => [...(await storage.list())].filter(([key]) => key.includes("/u:") || key.includes("/U:")).length;
  // An upload cut off halfway (the client's connection drops): it rejects and cleans up.
  const chunks = () => Array.from({ length: 40 }, () => part.slice());
  const cutOff = await store.put(stream(chunks(), 20), { mediaType: "video/mp4" }).then(() => "resolved", (e) => e.message);
  if (cutOff === "resolved") throw new Error("a cut-off upload resolved");
  const publishedBefore = (await storage.list()).size;
  if ((await staged()) - 20 !== 0) throw new Error(`${await staged()} upload keys left by a cut-off upload`);
  // An upload that stalls halfway, as one whose worker was killed would stay: a sweep past its
  // start reclaims what it staged, and when it does finish it finds itself reclaimed and
  // publishes nothing.
  let resume;
  const resumed = new Promise((ok) => (resume = ok));
  const stalled = [...chunks()];
  const stalling = new ReadableStream({
    async pull(controller) {
      if (stalled.length === 20) await resumed;
      const next = stalled.shift();
      next ? controller.enqueue(next) : controller.close();
    },
  });
  const pending = store.put(stalling, { mediaType: "video/mp4" }).then(() => "resolved", (e) => e.message);
  while ((await staged()) < 20 + 17) await new Promise((r) => setTimeout(r, 5));
  const during = await staged();
  await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 60_000);
  const afterSweep = await staged();
  resume();
  const outcome = await pending;
  if (!/reclaimed by a sweep/.test(outcome)) throw new Error(`the stalled upload ended with: ${outcome}`);
  // What is left is the first upload's 20 published chunks: the repeat put was a plain put, so
  // no sweep takes it.
  if ((await staged()) !== 20) throw new Error(`${(await staged()) - 20} upload keys left after the sweep and the reclaimed upload`);
  if (!(await store.head(ref.id))) throw new Error("the plain repeat put's attachment was swept");
  void publishedBefore;
  return `20 MiB streamed in, staged and published; a cut-off upload cleaned up (${cutOff.slice(0, 40)}…); a stalled one had ${during - 20} staged keys, ${afterSweep - 20} after the sweep, and then published nothing`;
}

async function integrity(storage) {
  // Damage done by hand (real storage does not damage a value on demand): a flipped byte in a
  // small attachment's chunk, a lost chunk of a large one. `verify` finds both, removes them and
  // keeps their rows, and a re-put heals.
  const prefix = `integrity-${Date.now()}/`;
  const store = new DurableObjectAttachmentStore(storage, { prefix });
  const small = new TextEncoder().encode("a small attachment");
  const large = new Uint8Array(5 * 1024 * 1024);
  for (let i = 0; i < large.length; i += 65536) crypto.getRandomValues(large.subarray(i, i + 65536));
  const session = store.session("s");
  const [a, b] = [await session.put(small, { mediaType: "text/plain" }), await session.put(large, { mediaType: "video/mp4" })];
  const intact = await session.put(new TextEncoder().encode("intact"), { mediaType: "text/plain" });
  await session.commit();
  const chunk = `${prefix}b:${a.id}:00000000`;
  const flipped = new Uint8Array(await storage.get(chunk));
  flipped[0] ^= 1;
  await storage.put(chunk, flipped.buffer);
  await storage.delete(`${prefix}b:${b.id}:00000001`);
  const lost = await store.get(b.id).then(() => "resolved", (e) => e.code);
  if (lost !== "Corrupt") throw new Error(`a lost chunk read as ${lost}`);
  const report = await store.verify();
  const expected = [a.id, b.id].sort();
  if (report.checkedCount !== 3 || report.checkedBytes !== 6 || JSON.stringify(report.corrupt) !== JSON.stringify(expected)) throw new Error(`report ${JSON.stringify(report)}`);
  if ((await store.get(a.id).then(() => "resolved", (e) => e.code)) !== "NotFound") throw new Error("damaged bytes kept");
  if ([...(await storage.list({ prefix: `${prefix}b:${b.id}:` }))].length) throw new Error("chunks of the damaged attachment left");
  if ((await store.manifest.entriesFor(b.id))[0]?.committedAtEpochMs === undefined) throw new Error("its commit was dropped");
  await store.put(large, { mediaType: "video/mp4" });
  if (contentId((await store.get(b.id)).bytes) !== b.id || (await store.verify()).corrupt.length) throw new Error("the re-put did not heal it");
  void intact;
  return `verify found a flipped byte and a lost chunk (${JSON.stringify(report.corrupt.map((id) => id.slice(0, 8)))}), removed them, kept their commits; a re-put healed`;
}

async function sqliteFull(storage) {
  // Real SQLITE_FULL: the database may grow by a few pages only, then a 3 MiB session put (three
  // chunks, an intent row and metadata in one transaction) cannot fit. workerd rolls the
  // transaction back and resets the object, so this request fails; /sqlite-full-after, on the
  // same object, checks what is left.
  const store = new DurableObjectAttachmentStore(storage, { prefix: "full/" });
  const session = store.session("s");
  const kept = await session.put(new TextEncoder().encode("kept"), { mediaType: "text/plain" });
  await session.commit();
  storage.sql.setMaxPageCountForTest(Math.ceil(storage.sql.databaseSize / 4096) + 8);
  const big = new Uint8Array(3 << 20);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  const outcome = await session.put(big, { mediaType: "video/mp4" }).then(() => "resolved", (error) => error.code);
  globalThis.sqliteFullOutcome = outcome;
  return `the put ${outcome} (${kept.id.slice(0, 8)}… kept)`;
}

async function sqliteFullAfter(storage) {
  const keys = [...(await storage.list({ prefix: "full/" }))].map(([key]) => key);
  const store = new DurableObjectAttachmentStore(storage, { prefix: "full/" });
  const listed = await store.list();
  if (listed.length !== 1 || (await store.get(listed[0].id)).bytes.length !== 4) throw new Error(`after SQLITE_FULL: ${JSON.stringify(listed)}`);
  const stray = keys.filter((key) => !key.includes(listed[0].id));
  if (stray.length) throw new Error(`the failed put left ${stray.join(", ")}`);
  if ((await store.manifest.listUncommitted(Date.now() + 1000)).length) throw new Error("the failed put left its intent");
  const again = await store.session("s").put(new Uint8Array(2 << 20).fill(7), { mediaType: "video/mp4" });
  if ((await store.get(again.id)).bytes.length !== 2 << 20) throw new Error("a put after the reset did not land");
  return `rolled back whole (${keys.length} keys, all the kept attachment's; the put's rejection, if seen: ${globalThis.sqliteFullOutcome ?? "not seen: the object was reset"}); a 2 MiB put lands after`;
}

async function kvBacked() {
  // A KV-backed class's storage throws when its `sql` is read (in production; local workerd
  // serves every class from SQLite, so this one fault is injected by hand): refused at once.
  const storage = { get() {}, put() {}, delete() {}, list() {}, transaction() {}, get sql() { throw new Error("SQL is not enabled for this Durable Object class."); } };
  try {
    new DurableObjectAttachmentStore(storage);
  } catch (error) {
    if (error.code !== "InvalidInput" || !/KV-backed.*SQLite-backed/.test(error.message)) throw new Error(`refused as ${error.code}: ${error.message}`);
    return `refused on construction: ${error.message.slice(0, 90)}…`;
  }
  throw new Error("a KV-backed storage was accepted");
}

export class Conformance {
  constructor(ctx) {
    this.storage = ctx.storage;
  }

  async fetch(request) {
    const check = new URL(request.url).pathname.slice(1);
    try {
      const detail =
        check === "conformance" ? await __runDurableObjectConformance(this.storage)
        : check === "chunking" ? await chunking(this.storage)
        : check === "rollback" ? await rollback(this.storage)
        : check === "uncommitted-index" ? await uncommittedIndex(this.storage)
        : check === "commit-state" ? await commitState(this.storage)
        : check === "upload" ? await upload(this.storage)
        : check === "integrity" ? await integrity(this.storage)
        : check === "sqlite-full" ? await sqliteFull(this.storage)
        : check === "sqlite-full-after" ? await sqliteFullAfter(this.storage)
        : check === "kv-backed" ? await kvBacked()
        : null;
      return detail === null ? new Response("no such check", { status: 404 }) : new Response(detail);
    } catch (error) {
      return new Response(`${error?.stack ?? error}`, { status: 500 });
    }
  }
}

export default {
  async fetch(request, env) {
    // A fresh object per check: each starts from empty storage. The SQLITE_FULL checks share one.
    const path = new URL(request.url).pathname;
    if (path.startsWith("/sqlite-full")) {
      try {
        return await env.CONFORMANCE.get(env.CONFORMANCE.idFromName("sqlite-full")).fetch(request);
      } catch (error) {
        return new Response(`the object failed: ${error.message}`, { status: 503 });
      }
    }
    return env.CONFORMANCE.get(env.CONFORMANCE.newUniqueId()).fetch(request);
  },
};
