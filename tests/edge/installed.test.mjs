// The package as a server-side user imports it (Node's test runner; Deno runs it too).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AttachmentStoreError,
  MemoryAttachmentStore,
  contentId,
  openAttachmentStore,
  reclaimOrphanedAttachments,
  resolveLlmRequestAttachments,
} from "web-attachments";

test("openAttachmentStore falls back to memory where there is no IndexedDB, and says so", async () => {
  const store = await openAttachmentStore();
  assert.ok(store instanceof MemoryAttachmentStore);
  assert.equal(store.persistence, "ephemeral");
});

test("session put, commit, sweep and LLM resolution in a server runtime", async () => {
  const store = new MemoryAttachmentStore();
  const session = store.session("ssr");
  const kept = await session.put(new TextEncoder().encode("kept"), { mediaType: "text/plain" });
  await session.commit();
  const orphan = await store.session("gone").put(new Blob(["orphan"]), { mediaType: "text/plain" });
  const report = await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 1000);
  assert.deepEqual(report, { scannedIntentCount: 1, reclaimedCount: 1, deletedCount: 1, deletedBytes: 6 });
  await assert.rejects(store.get(orphan.id), (error) => error instanceof AttachmentStoreError && error.code === "NotFound");
  const request = await resolveLlmRequestAttachments({ attachments: [{ mime: "", reference: kept }] }, store);
  assert.equal(new TextDecoder().decode(request.attachments[0].data), "kept");
  assert.equal(kept.id, contentId(new TextEncoder().encode("kept")));
});

test("a commit after a sweep reclaimed its intent rejects naming the ids; a re-put then commit keeps it", async () => {
  // What the commits issue tried as a new user: this commit used to resolve for a gone attachment.
  const store = new MemoryAttachmentStore();
  const session = store.session("left-open");
  const ref = await session.put(new TextEncoder().encode("left open for a day"), { mediaType: "text/plain" });
  await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 60_000);
  await assert.rejects(session.commit({ turns: 1 }), (error) => error.code === "NotFound" && error.ids?.[0] === ref.id);
  assert.equal(await store.sessionState("left-open"), undefined);
  await session.put(new TextEncoder().encode("left open for a day"), { mediaType: "text/plain" });
  assert.deepEqual(await session.commit({ turns: 1 }), [ref.id]);
  await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 60_000);
  assert.equal((await store.get(ref.id)).meta.id, ref.id);
  assert.deepEqual(await store.sessionState("left-open"), { turns: 1 });
});

test("bad input is a typed error in server runtimes too", async () => {
  await assert.rejects(new MemoryAttachmentStore().put("x", { mediaType: "text/plain" }), (error) => error.code === "InvalidInput");
});

test("{ transfer: true } moves a whole buffer where the runtime can, else copies; detached bytes reject", async () => {
  const store = new MemoryAttachmentStore();
  const canMove = typeof ArrayBuffer.prototype.transferToFixedLength === "function";
  const bytes = new TextEncoder().encode("handed over");
  const ref = await store.put(bytes, { mediaType: "text/plain" }, { transfer: true });
  assert.equal(bytes.byteLength, canMove ? 0 : 11);
  assert.equal(new TextDecoder().decode((await store.get(ref.id)).bytes), "handed over");
  const gone = new Uint8Array([1, 2, 3]).buffer;
  structuredClone(gone, { transfer: [gone] });
  await assert.rejects(store.put(gone, { mediaType: "text/plain" }), (error) => error.code === "InvalidInput" && /detached/.test(error.message));
  assert.throws(() => contentId(gone), (error) => error.code === "InvalidInput");
  assert.equal((await store.put(new Uint8Array([9]), { mediaType: "text/plain" })).byteLen, 1, "still usable");
});
