// Runs in one headless Chromium page: every workload on every system in the same run, several
// rounds (systems rotated each pass so noise spreads evenly), medians reported.
import { contentId, contentIdOf, IndexedDbAttachmentStore } from "/dist/index.js";
import { __wasmMemoryBytes } from "/dist/wasm/web_attachments.js";
import { sha256 as hashWasmSha256 } from "hash-wasm";
import { buffers, median, subtleId } from "./shared.js";
import { SYSTEMS as ALL_SYSTEMS } from "./systems.js";

const MiB = 1 << 20;
const params = new URLSearchParams(location.search);
const ROUNDS = Number(params.get("rounds") ?? 5);
const SCALE = Number(params.get("scale") ?? 1); // < 1 for a quick smoke run
// For iterating on one figure: ?systems=a,b&only=1KiB,batch (the published run uses everything).
const ONLY = params.get("only")?.split(",");
const SELECTED = params.get("systems")?.split(",");
const wanted = (name) => !ONLY || ONLY.includes(name);
const log = (line) => console.log(`[bench] ${line}`);

const chosen = (system) => SELECTED?.includes(system.name) || system.name === "raw-indexeddb";
const SYSTEMS = ALL_SYSTEMS.filter((system) => (system.optIn ? chosen(system) : !SELECTED || chosen(system)));
const rotate = (list, by) => list.map((_, i) => list[(i + by) % list.length]);
let dbCounter = 0;
const freshName = (system) => `bench-${system}-${Date.now()}-${dbCounter++}`;
/**
 * Deletes a database, waiting until it is gone: `blocked` only means a closing connection still
 * finishes its transactions, but one never closed would keep the data (and fill the page's quota
 * over a full run), so that is an error.
 */
const deleteDatabase = (name) => new Promise((resolve, reject) => {
  const request = indexedDB.deleteDatabase(name);
  let timer;
  request.onsuccess = () => resolve(clearTimeout(timer));
  request.onerror = () => reject(request.error);
  request.onblocked = () => {
    timer = setTimeout(() => reject(new Error(`deleting ${name} stays blocked: a connection was left open`)), 30_000);
  };
});
const storageInUse = async () => `${((await navigator.storage.estimate()).usage / 2 ** 20).toFixed(0)} MiB of storage in use`;

async function withDb(system, fn) {
  const name = freshName(system.name);
  const handle = await system.open(name);
  try {
    return await fn(handle);
  } finally {
    await system.close(handle);
    await deleteDatabase(name);
  }
}

const timings = new Map(); // `${system}|${workload}` -> seconds[]
function record(system, workload, seconds) {
  const key = `${system}|${workload}`;
  timings.set(key, [...(timings.get(key) ?? []), seconds]);
}

async function timed(fn) {
  const start = performance.now();
  const value = await fn();
  return [(performance.now() - start) / 1000, value];
}

// The short workloads (a second or less per system) scatter most from one pass to the next on a
// busy machine, and cost little: they run `passes` times a round, each pass a sample of its own.
const SIZES = [
  { label: "1KiB", size: 1024, count: Math.max(10, Math.round(2000 * SCALE)), passes: 3 },
  { label: "1MiB", size: MiB, count: Math.max(4, Math.round(100 * SCALE)), passes: 1 },
  { label: "16MiB", size: 16 * MiB, count: Math.max(2, Math.round(8 * SCALE)), passes: 1 },
];
const BATCH = { size: 1024, count: Math.max(10, Math.round(2000 * SCALE)), passes: 3 };
const SWEEP = { size: 1024, count: Math.max(10, Math.round(5000 * SCALE)) };

/** One pass of the put/get workload of one size: every system, in the order rotated by `turn`. */
async function putGetPass({ label, size, count }, turn) {
  const data = buffers(count, size);
  for (const system of rotate(SYSTEMS, turn)) {
    await withDb(system, async (handle) => {
      const input = system.prepare ? system.prepare(data) : data;
      const [putSeconds, ids] = await timed(async () => {
        const ids = [];
        for (const bytes of input) ids.push(await system.put(handle, bytes));
        return ids;
      });
      const [getSeconds, first] = await timed(async () => {
        let first;
        for (const id of ids) first ??= await system.get(handle, id);
        for (const id of ids.slice(1)) await system.get(handle, id);
        return first;
      });
      if (first.length !== size) throw new Error(`${system.name} read ${first.length} bytes, expected ${size}`);
      record(system.name, `put-${label}`, putSeconds);
      record(system.name, `get-${label}`, getSeconds);
    });
  }
}

async function runWorkloads() {
  for (let round = 0; round < ROUNDS; round++) {
    for (const sized of SIZES.filter((s) => wanted(s.label))) {
      for (let pass = 0; pass < sized.passes; pass++) await putGetPass(sized, round * sized.passes + pass);
      log(`round ${round + 1}/${ROUNDS}: ${sized.label} done, ${await storageInUse()}`);
    }
    // Systems without `putBatch` run the put/get workloads only.
    const batching = SYSTEMS.filter((system) => system.putBatch);
    for (let pass = 0; pass < (wanted("batch") ? BATCH.passes : 0); pass++) {
      const batch = buffers(BATCH.count, BATCH.size);
      for (const system of rotate(batching, round * BATCH.passes + pass)) {
        await withDb(system, async (handle) => record(system.name, "batch-1KiB", (await timed(() => system.putBatch(handle, batch)))[0]));
      }
    }
    const orphans = buffers(SWEEP.count, SWEEP.size);
    for (const system of wanted("sweep") ? rotate(batching, round) : []) {
      await withDb(system, async (handle) => {
        if (system.sweep) {
          await system.prepareOrphans(handle, orphans);
          const [seconds, report] = await timed(() => system.sweep(handle));
          if (report.deletedCount !== orphans.length) throw new Error(`sweep deleted ${report.deletedCount}`);
          record(system.name, "sweep-5000", seconds);
        } else {
          const ids = await system.putBatch(handle, orphans);
          record(system.name, "sweep-5000", (await timed(() => system.removeMany(handle, ids)))[0]);
        }
      });
    }
    log(`round ${round + 1}/${ROUNDS}: batch and sweep done, ${await storageInUse()}`);
  }
  const counts = { "1KiB": [SIZES[0].count, 1024], "1MiB": [SIZES[1].count, MiB], "16MiB": [SIZES[2].count, 16 * MiB] };
  const rows = [];
  for (const [key, seconds] of timings) {
    const [system, workload] = key.split("|");
    const [count, size] =
      workload === "batch-1KiB" ? [BATCH.count, BATCH.size]
      : workload === "sweep-5000" ? [SWEEP.count, SWEEP.size]
      : counts[workload.split("-")[1]];
    const s = median(seconds);
    // Each pass times every system back to back, so a ratio is taken per pass (raw's time over
    // this system's, that pass) and the median of those reported: a pass the whole machine ran
    // slow cancels out, where a ratio of two medians could pair a slow pass with a fast one.
    const raw = timings.get(`raw-indexeddb|${workload}`);
    const ratios = seconds.map((t, pass) => raw[pass] / t);
    rows.push({
      system,
      workload,
      opsPerSec: count / s,
      mbPerSec: (count * size) / MiB / s,
      seconds: s,
      samples: seconds.length,
      ratioToRaw: median(ratios),
      ratioRange: [Math.min(...ratios), Math.max(...ratios)],
    });
  }
  return rows;
}

async function runHashing() {
  const results = [];
  for (const [label, size, repeat] of [["1KiB", 1024, 4000], ["1MiB", MiB, 40], ["64MiB", 64 * MiB, 2]]) {
    const [data] = buffers(1, size);
    const blob = new Blob([data]);
    const impls = {
      "web-attachments contentId": () => contentId(data),
      "web-attachments contentIdOf (Blob)": () => contentIdOf(blob),
      "crypto.subtle.digest": () => subtleId(data),
      "hash-wasm": () => hashWasmSha256(data),
    };
    const expected = contentId(data);
    for (const [impl, fn] of Object.entries(impls)) {
      if ((await fn()) !== expected) throw new Error(`${impl} disagrees`);
      const samples = [];
      for (let round = 0; round < ROUNDS; round++) {
        const n = Math.max(1, Math.round(repeat * SCALE));
        const [seconds] = await timed(async () => {
          for (let i = 0; i < n; i++) await fn();
        });
        samples.push((n * size) / MiB / seconds);
      }
      results.push({ impl, size: label, mbPerSec: median(samples) });
    }
  }
  return results;
}

async function runMemory() {
  const chunk = buffers(1, 16 * MiB)[0];
  const parts = Array.from({ length: Math.max(1, Math.round(16 * SCALE)) }, (_, i) => {
    const copy = chunk.slice();
    copy[0] = i;
    return copy;
  });
  const blob = new Blob(parts);
  const name = freshName("memory");
  const store = await IndexedDbAttachmentStore.open(name);
  await store.put(new Uint8Array(16), { mediaType: "application/octet-stream" }); // warm up
  const before = __wasmMemoryBytes();
  const ref = await store.put(blob, { mediaType: "application/octet-stream" });
  const after = __wasmMemoryBytes();
  if (ref.byteLen !== blob.size) throw new Error("memory bench put failed");
  store.close();
  await deleteDatabase(name);
  return { blobBytes: blob.size, blob256MiBWasmGrowthBytes: after - before, wasmMemoryBytesAfter: after };
}

try {
  const memory = wanted("memory") ? await runMemory() : {};
  log(`memory: wasm grew ${memory.blob256MiBWasmGrowthBytes} bytes`);
  const hash = wanted("hash") ? await runHashing() : [];
  log("hashing done");
  const rows = await runWorkloads();
  window.__bench = { rows, hash, memory, references: SYSTEMS.filter((s) => s.reference).map((s) => s.name), rounds: ROUNDS, scale: SCALE, userAgent: navigator.userAgent };
} catch (error) {
  window.__bench = { error: `${error?.stack ?? error}` };
}
