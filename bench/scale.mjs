// The scale bench (`npm run bench -- --only scale`, and part of a full run), in Chromium on a
// persistent profile, web-attachments beside raw IndexedDB doing the same in the same page:
// - per-operation cost (put, get, head, a 100-item list page) as the store grows to 1,000, 10,000
//   and 100,000 attachments, of 1 KiB and of 100 KiB; cost ratio = time per operation at the
//   largest size / at the smallest (1.0 is flat);
// - a sweep of 100,000 orphans: throughput, and the renderer's peak memory growth (from /proc);
// - a 100-row page of listUncommitted and a sweep of 100 orphans among 1,000, 100,000 and
//   1,000,000 committed manifest rows.
//   node bench/scale.mjs [--sizes 1000,10000,100000] [--item-sizes 1024,102400] [--ops 300]
//                        [--orphans 100000] [--rows 1000,100000,1000000] [--parts calls,sweep,rows]
//                        [--systems web-attachments,raw-indexeddb]
//   (prints JSON; `--parts` runs some of the parts, as `npm run bench -- --only scale --parts rows`
//   does; `--systems` some systems in the sweep and rows parts, for a quick look or an A/B of two
//   builds: not for results.json)
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { serve } from "../scripts/serve.mjs";
import { chromiumOn } from "../tests/faults/browsers.mjs";
import { descendants, isRenderer, peakGrowth } from "./proc.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const text = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const numbers = (name, fallback) => text(name, fallback).split(",").map(Number);
const sizes = numbers("--sizes", "1000,10000,100000");
const itemSizes = numbers("--item-sizes", "1024,102400");
const ops = Number(text("--ops", "300"));
const orphans = Number(text("--orphans", "100000"));
// The longest part: growing 1,000,000 rows takes about 40 minutes for web-attachments and 20 for
// raw IndexedDB on 2 cores (bench/README.md).
const rowCounts = numbers("--rows", "1000,100000,1000000");
const parts = text("--parts", "calls,sweep,rows").split(",");
const systems = text("--systems", "web-attachments,raw-indexeddb").split(",");
const log = (...words) => console.error("[bench scale]", ...words);
const KiB = 1024;

const server = await serve({ mounts: { "/bench": join(root, "bench"), "/dist": join(root, "dist") } });
const profile = join(root, "target/bench-scale");
let chromium;
/** A fresh Chromium on a fresh persistent profile, on the scale page. */
async function launch() {
  rmSync(profile, { recursive: true, force: true });
  mkdirSync(profile, { recursive: true });
  const browser = await chromiumOn(profile);
  chromium = browser.version;
  await browser.goto(`http://127.0.0.1:${server.address().port}/bench/scale.html`);
  for (let i = 0; !(await browser.evaluate("!!window.scale")); i++) {
    if (i > 100) throw new Error("the scale page did not load");
    await new Promise((r) => setTimeout(r, 100));
  }
  return browser;
}

/** Cost ratios of the largest measured size to the smallest, per system and workload. */
function ratios(at, small, large, workload = (name) => name) {
  const rows = [];
  for (const system of Object.keys(at[small])) {
    for (const name of Object.keys(at[small][system])) {
      const [a, b] = [at[small][system][name], at[large][system][name]];
      rows.push({ system, workload: workload(name), opsPerSecAt1k: Math.round(1e6 / a), opsPerSecAt100k: Math.round(1e6 / b), costRatio100kTo1k: Number((b / a).toFixed(2)) });
    }
  }
  return rows;
}

const scale = [];
const at = {};
for (const itemSize of parts.includes("calls") ? itemSizes : []) {
  const browser = await launch();
  try {
    at[itemSize] = {};
    for (const n of sizes) {
      const started = Date.now();
      await browser.evaluate(`window.scale.grow(${n}, ${itemSize})`);
      log(`${itemSize / KiB} KiB: grown to ${n} in ${Date.now() - started} ms`);
      // A fresh browser's first calls are slower (its compilers warm up, the growth's writes
      // settle): a third of the rounds, discarded, before the first size's figures.
      if (n === sizes[0]) await browser.evaluate(`window.scale.measure(${Math.ceil(ops / 3)}, ${itemSize})`);
      at[itemSize][n] = await browser.evaluate(`window.scale.measure(${ops}, ${itemSize})`);
      log(`${itemSize / KiB} KiB, ${n}: ${JSON.stringify(at[itemSize][n])}`);
    }
  } finally {
    await browser.close();
  }
  scale.push(...ratios(at[itemSize], sizes[0], sizes.at(-1), (name) => `${name}-${itemSize / KiB}KiB`));
}

// The sweep of `orphans` orphans, each system in a browser of its own (the peak is the renderer's).
const sweep = {};
for (const system of parts.includes("sweep") ? systems : []) {
  const browser = await launch();
  try {
    const started = Date.now();
    await browser.evaluate(`window.scale.plantOrphans(${JSON.stringify(system)}, ${orphans})`);
    log(`${system}: ${orphans} orphans planted in ${Date.now() - started} ms`);
    const renderers = descendants(browser.pid).filter(isRenderer);
    const run = await peakGrowth(renderers, () => browser.evaluate(`window.scale.sweepOrphans(${JSON.stringify(system)})`));
    if (run.deleted !== orphans) throw new Error(`${system} swept ${run.deleted} of ${orphans} orphans`);
    sweep[system] = { orphans, ms: Math.round(run.ms), orphansPerSec: Math.round(orphans / (run.ms / 1000)), peakGrowthBytes: run.peakGrowthBytes };
    log(`${system}: swept ${orphans} in ${Math.round(run.ms)} ms, renderer +${(run.peakGrowthBytes / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    await browser.close();
  }
}

// A few orphans among many committed rows, each system in a browser of its own (Chromium keeps
// an origin's databases in one LevelDB).
const rows = Object.fromEntries(rowCounts.map((n) => [n, {}]));
/** Per system, each growth step: `{ from, to, ms }` (its putMany and commit get dearer too). */
const growth = {};
for (const system of parts.includes("rows") ? systems : []) {
  const browser = await launch();
  try {
    let grown = 0;
    for (const n of rowCounts) {
      // In steps of 100,000, so that a growth that slows down shows in the log.
      while (grown < n) {
        const started = Date.now();
        const step = Math.min(n, grown + 100_000);
        await browser.evaluate(`window.scale.growCommittedRows(${JSON.stringify(system)}, ${step})`);
        const ms = Date.now() - started;
        (growth[system] ??= []).push({ from: grown, to: step, ms });
        log(`${system}: committed rows grown from ${grown} to ${step} in ${ms} ms`);
        grown = step;
      }
      rows[n][system] = await browser.evaluate(`window.scale.orphansAmongRows(${JSON.stringify(system)}, 5)`);
      log(`${system}, ${n} committed rows: ${JSON.stringify(rows[n][system])}`);
    }
  } finally {
    await browser.close();
  }
}
const amongRows = !parts.includes("rows") ? [] : ratios(rows, rowCounts[0], rowCounts.at(-1)).map(({ system, workload, opsPerSecAt1k, opsPerSecAt100k, costRatio100kTo1k }) => ({ system, workload: `${workload}-among-committed-rows`, opsPerSecAtFewRows: opsPerSecAt1k, opsPerSecAtManyRows: opsPerSecAt100k, costRatio: costRatio100kTo1k }));
server.close();
console.log(JSON.stringify({ chromium, sizes, itemSizes, ops, rowCounts, at, scale, sweep, rows, growth, amongRows, memory: { sweep100kPeakBytes: sweep["web-attachments"]?.peakGrowthBytes, sweepOrphans: orphans } }, null, 2));
