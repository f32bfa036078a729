// The page of `bench/ab.mjs`: two builds of the package (mounted at /A and /B) and, with
// `?minimal`, the minimal wasm get (/M), timed call by call in one page, interleaved.
import * as A from "/A/index.js";
import * as B from "/B/index.js";
import { META, buffers, median, rawSameLayout, request } from "./shared.js";

const params = new URLSearchParams(location.search);
const SAMPLES = Number(params.get("samples") ?? 25);
const CALLS = 100;
/** Calls per sample of the fast synchronous ones, so a sample lasts long enough for the clock. */
const SYNC_CALLS = 2000;

async function run() {
  const data = buffers(1000, 1024);
  const [a, b] = await Promise.all([A, B].map((M) => M.IndexedDbAttachmentStore.open(`ab-${Math.random()}`)));
  const ids = (await a.putMany(data.map((bytes) => ({ bytes, meta: META })))).map((ref) => ref.id);
  await b.putMany(data.map((bytes) => ({ bytes, meta: META })));
  // The same records in raw IndexedDB, for the same reads in plain JavaScript.
  const db = await rawSameLayout.open(`ab-raw-${Math.random()}`);
  await rawSameLayout.putBatch(db, data);
  let fresh = 0;
  const unique = () => {
    const bytes = new Uint8Array(1024);
    new DataView(bytes.buffer).setUint32(0, fresh++);
    return bytes;
  };
  const getJs = async (id) => {
    const record = await request(db.transaction(["bytes", "meta"]).objectStore("bytes").get(id));
    return { bytes: new Uint8Array(record.bytes) };
  };
  /** `SIDE` gets started at once, every `SIDE`-th call (so figures are per get). */
  const SIDE = 50;
  const sideBySide = (get) => (i) => (i % SIDE ? null : Promise.all(ids.slice(i, i + SIDE).map(get)));
  // The same gets sharing a transaction as the library does (up to 32 reads each, a fresh one
  // when the engine has ended it): what sharing gives plain JavaScript.
  let shared = null;
  let sharedReads = 0;
  const begin = () => {
    shared = db.transaction(["bytes", "meta"]);
    sharedReads = 0;
  };
  const getJsShared = async (id) => {
    if (!shared || sharedReads >= 32) begin();
    let req;
    try {
      req = shared.objectStore("bytes").get(id);
    } catch {
      begin(); // the engine has ended it
      req = shared.objectStore("bytes").get(id);
    }
    sharedReads++;
    return { bytes: new Uint8Array((await request(req)).bytes) };
  };
  const variants = {
    "get 1 KiB, JavaScript": (i) => getJs(ids[i]),
    "get 1 KiB, JavaScript sharing transactions": (i) => getJsShared(ids[i]),
    [`get ${SIDE} × 1 KiB side by side (per get), JavaScript`]: sideBySide(getJs),
  };
  if (params.has("minimal")) {
    const minimal = await import("/M/minimal_get.js");
    await minimal.default({ module_or_path: "/M/minimal_get_bg.wasm" });
    variants["get 1 KiB, minimal wasm"] = (i) => minimal.get(db, ids[i]);
  }
  for (const [name, store, M] of [["A", a, A], ["B", b, B]]) {
    Object.assign(variants, {
      [`get 1 KiB, ${name}`]: (i) => store.get(ids[i]),
      [`get ${SIDE} × 1 KiB side by side (per get), ${name}`]: sideBySide((id) => store.get(id)),
      [`head, ${name}`]: (i) => store.head(ids[i]),
      [`put 1 KiB, ${name}`]: () => store.put(unique(), META),
      [`putMany 10 × 1 KiB (per item), ${name}`]: (i) => (i % 10 ? null : store.putMany(Array.from({ length: 10 }, () => ({ bytes: unique(), meta: META })))),
      [`contentId 1 KiB, ${name}`]: (i) => M.contentId(data[i]),
    });
  }
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let sample = 0; sample < SAMPLES; sample++) {
    for (const [name, call] of Object.entries(variants)) {
      const calls = name.startsWith("contentId") ? SYNC_CALLS : CALLS;
      const start = performance.now();
      for (let i = 0; i < calls; i++) await call((sample * calls + i) % ids.length);
      samples[name].push(((performance.now() - start) / calls) * 1000);
    }
  }
  // For ab.mjs's main-thread figures: one window of `calls` calls of a variant, timed from outside.
  window.__call = async (name, calls) => {
    for (let i = 0; i < calls; i++) await variants[name](i % ids.length);
    return calls;
  };
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

run().then(
  (result) => (window.__ab = result),
  (error) => (window.__ab = { error: String(error?.stack ?? error) }),
);
