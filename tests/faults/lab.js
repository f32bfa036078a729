// The fault lab's page side: steps the runner (run.mjs) calls one at a time while it provokes
// real faults from outside the browser (a quota override, a full disk, a kill, damaged files).
// Each step returns plain data; the runner decides what must hold.
import * as api from "web-attachments";
import { dump, layoutViolations } from "../soak/checker.js";
import { seededBytes } from "./seeded.js";

export { seededBytes };

const { IndexedDbAttachmentStore, reclaimOrphanedAttachments } = api;

/** `length` random (incompressible: Chromium compresses values) bytes. */
export function randomBytes(length) {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(at + 65536, length)));
  return bytes;
}

/** A call's outcome as data: `ok` or the error's code (or what else was thrown). */
async function outcome(run) {
  try {
    const value = await run();
    return { outcome: "ok", value };
  } catch (error) {
    return { outcome: error?.code ?? `thrown ${error?.name}`, message: String(error?.message ?? error).slice(0, 300), cause: error?.cause?.name };
  }
}

const stores = new Map();
/** One store per database for the page's life: a fault must never need the caller to reopen. */
async function storeOf(database) {
  if (!stores.has(database)) stores.set(database, await IndexedDbAttachmentStore.open(database));
  return stores.get(database);
}

/**
 * Session puts of `size` random bytes (as Blobs with `blob`) until one is refused or `limit`
 * landed: how many fit, and how the one that did not was refused.
 */
export async function fill(database, { size, blob = false, limit = 4000 }) {
  const store = await storeOf(database);
  const session = store.session("fill");
  for (let count = 0; count < limit; count++) {
    const bytes = randomBytes(size);
    const result = await outcome(() => session.put(blob ? new Blob([bytes]) : bytes, { mediaType: "application/octet-stream" }));
    if (result.outcome !== "ok") return { count, bytes: count * size, refused: result };
  }
  return { count: limit, bytes: limit * size, refused: null };
}

/** Every kind of write while the space is gone: each must be refused `QuotaExceeded` or land whole. */
export async function whileFull(database, { size }) {
  const store = await storeOf(database);
  const session = store.session("while-full");
  const item = () => ({ bytes: randomBytes(size), meta: { mediaType: "application/octet-stream" } });
  return {
    put: await outcome(() => store.put(randomBytes(size), { mediaType: "application/octet-stream" }).then(() => undefined)),
    putMany: await outcome(() => store.putMany([item(), item(), item()]).then(() => undefined)),
    sessionPut: await outcome(() => session.put(randomBytes(size), { mediaType: "application/octet-stream" }).then(() => undefined)),
    largeBlob: await outcome(() => store.put(new Blob([randomBytes(4 * size)]), { mediaType: "video/webm" }).then(() => undefined)),
    commitWithState: await outcome(() => store.session("fill").commit({ note: "x".repeat(size) }).then(() => undefined)),
  };
}

/** What the raw database shows: layout violations and counts. */
export async function inspect(database) {
  // Bounded: an engine may leave the checker's own open unanswered on a full disk.
  const late = new Promise((_, reject) => setTimeout(() => reject(new Error("the checker's open did not answer within 20 s (a full disk?)")), 20_000));
  const data = await Promise.race([dump(database), late]);
  const violations = await layoutViolations(data);
  const uncommittedWithoutBytes = data.rows.filter((row) => row.committedAtEpochMs !== undefined && !data.meta.some((meta) => meta.id === row.attachmentId));
  for (const row of uncommittedWithoutBytes) violations.push(`${row.sessionId}'s committed row of ${row.attachmentId} has no attachment`);
  return { violations, attachments: data.meta.length, rows: data.rows.length, states: data.states.length };
}

/** A sweep of everything uncommitted (the grace period passed) and a delete of what plain puts hold. */
export async function free(database) {
  const store = await storeOf(database);
  const sweep = await outcome(() => reclaimOrphanedAttachments(store.manifest, store, Date.now() + 1000));
  const deletes = {};
  for (const ref of await store.list()) {
    const result = await outcome(() => store.delete(ref.id));
    deletes[result.outcome] = (deletes[result.outcome] ?? 0) + 1;
    if (result.outcome !== "ok") deletes.message = result.message;
  }

  return { sweep, deletes, left: (await store.list()).length, uncommitted: (await store.manifest.listUncommitted(Date.now() + 1000)).length };
}

/** Closes the page's store of `database` (the engines may compact a database once no connection holds it). */
export function release(database) {
  stores.get(database)?.close();
  stores.delete(database);
  return true;
}

/** Deletes the whole database (what gives Firefox's space back at once: its SQLite file keeps freed pages). */
export async function dropDatabase(database) {
  release(database);
  await IndexedDbAttachmentStore.deleteDatabase(database);
  return true;
}

/** The engine's own figures: `navigator.storage.estimate()`, in bytes. */
export async function usage() {
  const { usage, quota } = await navigator.storage.estimate();
  return { usage, quota };
}

/** A put, get, session commit and delete of small and large bytes on the same store object. */
export async function works(database, { size }) {
  const store = await storeOf(database);
  return outcome(async () => {
    for (const bytes of [randomBytes(1000), randomBytes(size)]) {
      const session = store.session("works");
      const ref = await session.put(new Blob([bytes]), { mediaType: "application/octet-stream" });
      await session.commit({ at: Date.now() });
      const back = (await store.get(ref.id)).bytes;
      if (api.contentId(back) !== ref.id) throw new Error("read back differs");
    }
    return (await store.list()).length;
  });
}

/** The seeded contents of the corruption checks: as bytes, or as Blobs (stored as Blobs where the engine keeps them). */
const seeded = (sizes) => sizes.map(([size, asBlob], i) => (asBlob ? new Blob([seededBytes(size, i + 1)]) : seededBytes(size, i + 1)));

/** Puts `sizes` ([size, asBlob] pairs) of seeded contents, committed: returns what they are. */
export async function seed(database, { sizes }) {
  const store = await storeOf(database);
  const session = store.session("seeded");
  const refs = [];
  for (const bytes of seeded(sizes)) refs.push(await session.put(bytes, { mediaType: "application/octet-stream" }));
  await session.commit({ seeded: refs.length });
  store.close();
  stores.delete(database);
  return refs.map((ref) => ({ id: ref.id, byteLen: ref.byteLen }));
}

/**
 * After the profile was damaged: what an unverified read of each attachment gives, then either
 * `verify()` and verified reads (`order: "verify"`), or verified reads and then `verify()`
 * (`order: "reads"`); and `dataLoss`. Reads are "right bytes", "WRONG BYTES" or an error code.
 */
export async function afterDamage(database, { ids, order = "verify" }) {
  const readAll = async (store) => {
    const reads = {};
    for (const id of ids) {
      const read = await outcome(async () => (api.contentId((await store.get(id)).bytes) === id ? "right bytes" : "WRONG BYTES"));
      reads[id] = read.outcome === "ok" ? read.value : read.outcome;
    }
    return reads;
  };
  const plain = await IndexedDbAttachmentStore.open(database);
  const unverified = await readAll(plain);
  const dataLoss = plain.dataLoss ?? null;
  plain.close();
  const store = await IndexedDbAttachmentStore.open(database, { verifyReads: true });
  let verified, report;
  if (order === "verify") {
    report = await outcome(() => store.verify());
    verified = await readAll(store);
  } else {
    verified = await readAll(store);
    report = await outcome(() => store.verify());
  }
  const left = (await store.list()).map((ref) => ref.id);
  store.close();
  return { dataLoss, unverified, verified, report, left };
}

/** Puts the seeded contents again: every one reads back right, verified, and `verify` finds nothing. */
export async function heal(database, { sizes }) {
  const store = await IndexedDbAttachmentStore.open(database, { verifyReads: true });
  const refs = [];
  for (const bytes of seeded(sizes)) refs.push(await store.put(bytes, { mediaType: "application/octet-stream" }));
  const right = [];
  for (const ref of refs) right.push(api.contentId((await store.get(ref.id)).bytes) === ref.id);
  const report = await store.verify();
  let committed = 0;
  for (const ref of refs) committed += (await store.manifest.entriesFor(ref.id)).some((row) => row.committedAtEpochMs !== undefined) ? 1 : 0;
  store.close();
  return { right: right.every(Boolean), corrupt: report.corrupt.length, committed };
}

/** How `id`'s bytes record looks raw: its kind, a Blob's `size`, and how many bytes a read gives. */
export async function rawRecord(database, id) {
  const data = await dump(database);
  const record = data.bytes.get(id);
  if (record instanceof Blob) {
    const read = await record.arrayBuffer().then((buffer) => buffer.byteLength, (error) => `${error.name}: ${error.message}`);
    return { kind: "Blob", size: record.size, type: record.type, read };
  }
  return { kind: record instanceof ArrayBuffer ? "buffer" : typeof record };
}

/**
 * Session puts and commits one after another for `ms` on the page's store of `database`, each
 * logged with its outcome and times (for the connection-loss check, while the runner kills the
 * engine's storage process).
 */
export async function writeLoop(database, { ms, size = 2048 }) {
  const store = await storeOf(database);
  const log = [];
  const until = Date.now() + ms;
  for (let i = 0; Date.now() < until; i++) {
    const session = store.session(`loop-${i % 3}`);
    const bytes = seededBytes(size, 1000 + i);
    const entry = { i, start: Date.now() };
    const put = await outcome(() => session.put(bytes, { mediaType: "application/octet-stream" }));
    entry.put = put.outcome;
    entry.id = api.contentId(bytes);
    if (put.outcome === "ok") {
      const commit = await outcome(() => session.commit({ i }));
      entry.commit = commit.outcome;
      if (commit.outcome !== "ok") entry.message = commit.message;
    } else entry.message = put.message;
    entry.end = Date.now();
    log.push(entry);
  }
  return log;
}

/**
 * After a lost connection and a reload: every commit `log` (from {@link writeLoop}) saw resolve
 * is there, committed; every failure after the loss says its write may have landed; how many of
 * those did land.
 */
export async function afterLoss(database, { log, lostAt }) {
  const store = await storeOf(database);
  const violations = [];
  let failedAfter = 0, landed = 0;
  for (const entry of log) {
    const rows = await store.manifest.entriesFor(entry.id);
    const committed = rows.some((row) => row.committedAtEpochMs !== undefined) && (await store.head(entry.id)) !== undefined;
    if (entry.commit === "ok" && !committed) violations.push(`#${entry.i}: its commit resolved, but ${entry.id.slice(0, 8)} is not committed`);
    if (entry.put !== "ok" || (entry.commit && entry.commit !== "ok")) {
      if (entry.end < lostAt) violations.push(`#${entry.i} failed before the loss: ${entry.message}`);
      else if (!/may have landed/.test(entry.message ?? "")) violations.push(`#${entry.i} failed without saying its write may have landed: ${entry.message}`);
      failedAfter++;
      if (committed || (entry.put !== "ok" && rows.length)) landed++;
    }
  }
  return { violations, calls: log.length, acknowledged: log.filter((entry) => entry.commit === "ok").length, failedAfter, landed };
}
