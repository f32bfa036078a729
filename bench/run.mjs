// `npm run bench`: bundles the bench page (comparison libraries from node_modules, the package
// from dist/), runs it in headless Chromium, prints the table and writes bench/results.json.
//   node bench/run.mjs [--rounds N] [--scale X]    (scale < 1: a quick smoke run, not for quoting)
//   node bench/run.mjs --only scale [--parts calls,sweep,rows]   (some of the scale bench's parts)
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";
import { browserPackageSize } from "../scripts/package-size.mjs";

const root = resolve(import.meta.dirname, "..");
const out = join(root, "target/bench");
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const rounds = option("--rounds", 5);
const scale = option("--scale", 1);
const text = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const filters = ["--only", "--systems"].filter(text).map((name) => `&${name.slice(2)}=${text(name)}`).join("");
// `memory` is also the large-attachment bench (bench/large.mjs: a 1 GiB File, the renderer's
// memory from outside, workerd); `--only memory` runs that alone.
const only = text("--only")?.split(",");
const large = !only || only.includes("memory");
// `scale` is bench/scale.mjs (stores grown to 100,000 attachments, a sweep of 100,000 orphans,
// 1,000,000 manifest rows); `--only scale` runs that alone.
const scaleRun = !only || only.includes("scale");
// Its parts: the calls at three store sizes, the sweep of 100,000 orphans, the manifest rows (the
// longest: about an hour to grow 1,000,000 rows on 2 cores). Each part's figures replace only its own.
const scaleParts = text("--parts")?.split(",") ?? ["calls", "sweep", "rows"];
if (text("--parts") && (only?.join() !== "scale" || scaleParts.some((part) => !["calls", "sweep", "rows"].includes(part)))) {
  throw new Error("--parts goes with --only scale, and names some of calls,sweep,rows");
}
const pageRun = !only || only.some((workload) => workload !== "memory" && workload !== "scale");

mkdirSync(out, { recursive: true });
execFileSync(join(root, "node_modules/.bin/esbuild"), ["bench/bench.js", "--bundle", "--format=esm", "--external:/dist/*", `--outfile=${out}/bench.js`, "--log-level=warning"], { cwd: root, stdio: "inherit" });
writeFileSync(join(out, "index.html"), `<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="./bench.js"></script>`);

// Size of what a browser user downloads: the wasm and the JS of the default entry.
const dist = join(root, "dist");
const size = browserPackageSize(dist);
// workerd loads its own flavour (with the Durable Object store); reported beside, not summed.
const workerdWasm = readFileSync(join(dist, "wasm-workerd/web_attachments_bg.wasm"));
Object.assign(size, { workerdWasmBytes: workerdWasm.length, workerdWasmGzipBytes: gzipSync(workerdWasm, { level: 9 }).length });

let result = { rows: [], references: [], hash: [], memory: {} };
let chromiumVersion = "";
if (pageRun) {
const server = await serve({ mounts: { "/": out, "/dist": dist } });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const page = await browser.newPage();
page.on("console", (message) => message.text().startsWith("[bench]") && console.log(message.text()));
await page.goto(`http://127.0.0.1:${server.address().port}/?rounds=${rounds}&scale=${scale}${filters}`);
await page.waitForFunction(() => window.__bench, null, { timeout: 40 * 60_000, polling: 1000 });
result = await page.evaluate(() => window.__bench);
chromiumVersion = browser.version();
await browser.close();
server.close();
if (result.error) {
  console.error(result.error);
  process.exit(1);
}
}
let largeFigures;
if (large) {
  const printed = execFileSync(process.execPath, [join(root, "bench/large.mjs"), "--scale", String(scale), "--rounds", String(Math.max(3, rounds))], { cwd: root, stdio: ["ignore", "pipe", "inherit"] }).toString();
  largeFigures = JSON.parse(printed.trim().split("\n").pop());
  const ours = largeFigures.memory["web-attachments"];
  const plain = largeFigures.memory["plain IndexedDB"];
  const readPeak = (steps) => Math.max(steps.readBlobStream.peakGrowthBytes, steps.readStream.peakGrowthBytes, steps.serve.peakGrowthBytes);
  Object.assign(result.memory, {
    put1GiB: ours.put.peakGrowthBytes,
    read1GiB: readPeak(ours),
    plainPut1GiB: plain.put.peakGrowthBytes,
    plainRead1GiB: readPeak(plain),
    workerdPut100MB: largeFigures.workerd.putPeakGrowthBytes,
    workerdGet100MB: largeFigures.workerd.getPeakGrowthBytes,
  });
}

let scaleFigures;
if (scaleRun) {
  // At a smoke scale, a bench of small stores: it works, the figures are not for quoting.
  const smoke = scale < 1 ? ["--sizes", "100,200", "--ops", "10", "--orphans", "600", "--rows", "100,1100"] : [];
  const printed = execFileSync(process.execPath, [join(root, "bench/scale.mjs"), ...smoke, "--parts", scaleParts.join()], { cwd: root, stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 }).toString();
  scaleFigures = JSON.parse(printed);
  if (scaleParts.includes("sweep")) Object.assign(result.memory, scaleFigures.memory);
}
// The scale bench's figures, published in two parts: the calls and the sweep (`scale`,
// `scaleDetail`), the manifest rows (`manifestRows`).
const { rowCounts, rows: rowFigures, growth, amongRows, ...callFigures } = scaleFigures ?? {};
const callsRun = scaleParts.includes("calls") && scaleParts.includes("sweep");

const machine = { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), chromium: chromiumVersion || largeFigures?.chromium || scaleFigures?.chromium, date: new Date().toISOString() };
// References are not compared systems: the same-layout floor and the transfer puts are reported
// apart, opt-in ones only appear in the table of a filtered run.
const REFERENCE = "raw-indexeddb-same-layout";
const TRANSFER = "web-attachments-transfer";
const LABELS = {
  [REFERENCE]: "*(raw, web-attachments' layout)*",
  [TRANSFER]: "*(web-attachments, `transfer: true`)*",
  "raw-indexeddb-one-record": "*(raw, one record per attachment)*",
  "raw-indexeddb-one-store": "*(raw, two records in one store)*",
};
const rows = result.rows.filter((row) => !result.references.includes(row.system));
const layoutFloor = result.rows.filter((row) => row.system === REFERENCE);
const transferPuts = result.rows.filter((row) => row.system === TRANSFER);
const command = `npm run bench${args.length ? ` -- ${args.join(" ")}` : ""}`;
const manifestRows = scaleFigures && { machine, command, rowCounts, rows: rowFigures, growth, amongRows };
const results = { machine, command, rounds, workScale: scale, scale: scaleFigures?.scale, scaleDetail: callFigures, manifestRows, rows, layoutFloor, transferPuts, hash: result.hash, memory: result.memory, large: largeFigures, size };

const fmt = (n, digits = 1) => (n >= 100 ? n.toFixed(0) : n.toFixed(digits));
const lines = ["| workload | system | ops/s | MB/s | × raw IndexedDB | samples' range |", "|---|---|---:|---:|---:|---:|"];
const order = ["put-1KiB", "get-1KiB", "put-1MiB", "get-1MiB", "put-16MiB", "get-16MiB", "batch-1KiB", "sweep-5000"];
for (const workload of order) {
  for (const row of result.rows.filter((r) => r.workload === workload).sort((a, b) => b.ratioToRaw - a.ratioToRaw)) {
    const name = LABELS[row.system] ?? row.system;
    const [low, high] = row.ratioRange.map((ratio) => ratio.toFixed(2));
    lines.push(`| ${workload} | ${name} | ${fmt(row.opsPerSec)} | ${fmt(row.mbPerSec)} | ${row.ratioToRaw.toFixed(2)} | ${low}–${high} |`);
  }
}
lines.push("", "| hashing | size | MB/s |", "|---|---|---:|");
for (const h of result.hash) lines.push(`| ${h.impl} | ${h.size} | ${fmt(h.mbPerSec)} |`);
if (result.memory.blobBytes) lines.push("", `wasm memory growth while putting a ${result.memory.blobBytes / 2 ** 20} MiB Blob: ${(result.memory.blob256MiBWasmGrowthBytes / 2 ** 20).toFixed(2)} MiB`);
const kib = (bytes) => (bytes / 1024).toFixed(1);
if (largeFigures) {
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  const ms = (value) => `${value.toFixed(0)} ms`;
  const gib = (largeFigures.setup.fileBytes / 2 ** 30).toFixed(2);
  lines.push("", `| ${gib} GiB File, Chromium (renderer's peak growth; longest main-thread task; time to first byte) | web-attachments | plain IndexedDB, the File as a Blob |`, "|---|---|---|");
  for (const [step, label] of [["put", "put (hashed on the way)"], ["readBlobStream", "read back: getBlob().stream()"], ["readStream", "read back: getStream"], ["serve", "read back: serveAttachment's body"]]) {
    const cell = (steps) => `${mib(steps[step].peakGrowthBytes)}; ${ms(steps[step].longestTaskMs)}; ${steps[step].firstByteMs === undefined ? ms(steps[step].ms) + " in all" : ms(steps[step].firstByteMs) + " to first byte"}`;
    lines.push(`| ${label} | ${cell(largeFigures.memory["web-attachments"])} | ${cell(largeFigures.memory["plain IndexedDB"])} |`);
  }
  lines.push("", `× plain IndexedDB (median of ${largeFigures.ratios.rounds.put300MiB.length} rounds): 300 MiB put ${largeFigures.ratios.put300MiB.toFixed(2)}, getBlob ${largeFigures.ratios.getBlob.toFixed(2)}`);
  lines.push(`workerd, ${(largeFigures.workerd.bytes / 1e6).toFixed(0)} MB through the example service: PUT +${mib(largeFigures.workerd.putPeakGrowthBytes)}, GET +${mib(largeFigures.workerd.getPeakGrowthBytes)} (peak resident growth)`);
}
if (scaleFigures && scaleParts.includes("calls")) {
  const [few, many] = [scaleFigures.sizes[0], scaleFigures.sizes.at(-1)];
  lines.push("", `| cost at ${many.toLocaleString("en")} / at ${few.toLocaleString("en")} attachments (1.0 is flat) | web-attachments | raw IndexedDB |`, "|---|---:|---:|");
  for (const workload of [...new Set(scaleFigures.scale.map((row) => row.workload))]) {
    const cell = (system) => scaleFigures.scale.find((row) => row.system === system && row.workload === workload)?.costRatio100kTo1k.toFixed(2) ?? "-";
    lines.push(`| ${workload} | ${cell("web-attachments")} | ${cell("raw-indexeddb")} |`);
  }
}
if (scaleFigures && scaleParts.includes("sweep")) {
  const sweep = (system) => `${scaleFigures.sweep[system].orphansPerSec} orphans/s, renderer +${(scaleFigures.sweep[system].peakGrowthBytes / 2 ** 20).toFixed(1)} MiB`;
  lines.push("", `sweep of ${scaleFigures.memory.sweepOrphans.toLocaleString("en")} orphans: web-attachments ${sweep("web-attachments")}; raw IndexedDB ${sweep("raw-indexeddb")}`);
}
if (scaleFigures && scaleParts.includes("rows")) {
  for (const row of amongRows) lines.push(`${row.system}, ${row.workload}: cost among ${rowCounts.at(-1).toLocaleString("en")} / among ${rowCounts[0].toLocaleString("en")} committed rows: ${row.costRatio.toFixed(2)}`);
  for (const [system, steps] of Object.entries(growth)) lines.push(`${system}: committed rows grown ${steps.map(({ to, ms }) => `to ${to.toLocaleString("en")} in ${(ms / 1000).toFixed(0)} s`).join(", ")}`);
}
lines.push(`package, what a browser loads: wasm ${kib(size.wasmBytes)} KiB (${kib(size.wasmGzipBytes)} KiB gzipped), JS ${kib(size.jsBytes)} KiB (${kib(size.jsGzipBytes)} KiB gzipped); total ${kib(size.wasmGzipBytes + size.jsGzipBytes)} KiB gzipped`);
lines.push(`workerd's wasm (with the Durable Object store): ${kib(size.workerdWasmBytes)} KiB (${kib(size.workerdWasmGzipBytes)} KiB gzipped)`);
lines.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; Chromium ${machine.chromium}; ${rounds} rounds (a sample each; 1 KiB puts, gets and batches: three a round), medians (ratios: median of each sample's ratio)`);
const table = lines.join("\n");
console.log(table);
// Only a complete run may replace the published results.
writeFileSync(join(out, "table.md"), table + "\n");
if (!filters && scale === 1) {
  writeFileSync(join(root, "bench/results.json"), JSON.stringify(results, null, 2) + "\n");
  console.log("wrote bench/results.json");
} else if (!pageRun && scale === 1) {
  // `--only memory` or `--only scale`, complete: their figures replace the last ones; the rest
  // stays as it was.
  const published = JSON.parse(readFileSync(join(root, "bench/results.json"), "utf8"));
  published.memory = { ...published.memory, ...results.memory };
  if (largeFigures) published.large = { machine, command: results.command, ...largeFigures };
  if (scaleFigures && callsRun) Object.assign(published, { scale: scaleFigures.scale, scaleDetail: { machine, command, ...callFigures } });
  if (scaleFigures && scaleParts.includes("rows")) published.manifestRows = manifestRows;
  writeFileSync(join(root, "bench/results.json"), JSON.stringify(published, null, 2) + "\n");
  console.log(`wrote the ${only.join(" and ")} figures into bench/results.json`);
} else console.log("a filtered or scaled run: bench/results.json left as it was (the table is in target/bench/table.md)");
