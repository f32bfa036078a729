// The checks a worker (dedicated or service) runs against the package it imported, then an
// exchange with the page over one shared database. `api` is the imported module.
export async function workerChecks(api, where) {
  const { IndexedDbAttachmentStore, AttachmentStoreError, reclaimOrphanedAttachments, openAttachmentStore } = api;
  const text = (s) => new TextEncoder().encode(s);
  const results = [];
  const check = async (name, fn) => {
    try {
      await fn();
      results.push({ name: `${where}: ${name}`, ok: true });
    } catch (error) {
      results.push({ name: `${where}: ${name}`, ok: false, error: `${error?.stack ?? error}` });
    }
  };
  const expect = (condition, message) => {
    if (!condition) throw new Error(message);
  };
  await check("openAttachmentStore finds IndexedDB in a worker", async () => {
    const store = await openAttachmentStore({ name: `${where}-probe` });
    expect(store instanceof IndexedDbAttachmentStore && store.persistence === "durable", `got ${store.constructor.name}`);
    store.close();
  });
  await check("put, get, session commit and sweep", async () => {
    const store = await IndexedDbAttachmentStore.open(`${where}-private-${Date.now()}`);
    const session = store.session("s");
    const kept = await session.put(new Blob(["kept in a worker"]), { mediaType: "text/plain" });
    await session.commit();
    await store.session("gone").put(text("orphan"), { mediaType: "text/plain" });
    const report = await reclaimOrphanedAttachments(store.manifest, store, Date.now() + 1000);
    expect(report.deletedCount === 1, JSON.stringify(report));
    expect(new TextDecoder().decode((await store.get(kept.id)).bytes) === "kept in a worker", "bytes");
    let error;
    try {
      await store.get("nope");
    } catch (e) {
      error = e;
    }
    expect(error instanceof AttachmentStoreError && error.code === "NotFound", `error ${error}`);
  });
  return results;
}

/** Writes one committed attachment into the shared database; returns its id. */
export async function writeShared(api, database, label) {
  const store = await api.IndexedDbAttachmentStore.open(database);
  const session = store.session(label);
  const ref = await session.put(new TextEncoder().encode(`written by ${label}`), { mediaType: "text/plain", label });
  await session.commit();
  store.close();
  return ref.id;
}

/** Reads an attachment from the shared database; returns its text and whether it is committed. */
export async function readShared(api, database, id) {
  const store = await api.IndexedDbAttachmentStore.open(database);
  const { bytes } = await store.get(id);
  const rows = await store.manifest.entriesFor(id);
  store.close();
  return { text: new TextDecoder().decode(bytes), committed: rows.some((row) => row.committedAtEpochMs !== undefined) };
}
