// The scale bench: per-operation cost (put, get, head, a 100-item list page) as the store grows
// to 1,000, 10,000 and 100,000 attachments of 1 KiB, web-attachments beside raw IndexedDB in the
// same page, in Chromium on a persistent profile. Cost ratio = time per operation at 100k / at 1k
// (1.0 is flat).   node bench/scale.mjs [--sizes 1000,10000,100000] [--ops 300]
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { serve } from "../scripts/serve.mjs";
import { chromiumOn } from "../tests/faults/browsers.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const text = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const sizes = text("--sizes", "1000,10000,100000").split(",").map(Number);
const ops = Number(text("--ops", "300"));
const profile = join(root, "target/bench-scale");
rmSync(profile, { recursive: true, force: true });
mkdirSync(profile, { recursive: true });
const server = await serve({ mounts: { "/bench": join(root, "bench"), "/dist": join(root, "dist") } });
const browser = await chromiumOn(profile);
await browser.goto(`http://127.0.0.1:${server.address().port}/bench/scale.html`);
await new Promise((r) => setTimeout(r, 500));
const at = {};
for (const n of sizes) {
  const started = Date.now();
  await browser.evaluate(`window.scale.grow(${n})`);
  console.error(`[bench scale] grown to ${n} in ${Date.now() - started} ms`);
  at[n] = await browser.evaluate(`window.scale.measure(${ops})`);
  console.error(`[bench scale] ${n}: ${JSON.stringify(at[n])}`);
}
await browser.close();
server.close();
const [small, large] = [sizes[0], sizes.at(-1)];
const scale = [];
for (const system of Object.keys(at[small])) {
  for (const workload of Object.keys(at[small][system])) {
    const [a, b] = [at[small][system][workload], at[large][system][workload]];
    scale.push({ system, workload, opsPerSecAt1k: Math.round(1e6 / a), opsPerSecAt100k: Math.round(1e6 / b), costRatio100kTo1k: Number((b / a).toFixed(2)) });
  }
}
console.log(JSON.stringify({ sizes, ops, at, scale }, null, 2));
