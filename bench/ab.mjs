// A/B of two builds of the package in one headless Chromium page: gets (one at a time and 50 side by
// side), heads, puts, putMany and
// contentId of 1 KiB, call by call (25 samples of 100 calls each, 2000 for contentId, interleaved;
// medians in µs per call), beside the same gets in plain JavaScript, and each call's main-thread time
// (Chromium's TaskDuration). What the README's "A/B" figures come from.
//   node bench/ab.mjs <dist-a> <dist-b> [--samples N] [--minimal]
// A dist is what `scripts/build.sh` writes to dist/ (copy it aside before building the other).
// --minimal adds the least a wasm-bindgen get can do (bench/minimal-get, built here with the
// package's pinned toolchain and flags): the cost of the wasm boundary by itself.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";

const root = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const [distA, distB] = args.filter((arg, i) => !arg.startsWith("--") && args[i - 1] !== "--samples");
if (!distA || !distB) {
  console.error("usage: node bench/ab.mjs <dist-a> <dist-b> [--samples N] [--minimal]");
  process.exit(2);
}
const samples = args.includes("--samples") ? Number(args[args.indexOf("--samples") + 1]) : 25;
const minimal = args.includes("--minimal");

const mounts = { "/": join(root, "bench"), "/A": resolve(distA), "/B": resolve(distB) };
if (minimal) {
  // rustup's proxies and the wasm-bindgen CLI, where scripts/setup.sh installs them.
  const env = { ...process.env, PATH: `${join(homedir(), ".cargo/bin")}:${process.env.PATH}` };
  const toolchain = readFileSync(join(root, "Cargo.toml"), "utf8").match(/^package-toolchain = "(.*)"/m)[1];
  const targetDir = join(root, "target/minimal-get");
  execFileSync("cargo", [`+${toolchain}`, "build", "--release", "--target", "wasm32-unknown-unknown", "--target-dir", targetDir, "-Z", "build-std=std,panic_abort"], {
    cwd: join(root, "bench/minimal-get"),
    stdio: "inherit",
    env: { ...env, RUSTFLAGS: "-Zunstable-options -Cpanic=immediate-abort" },
  });
  execFileSync("wasm-bindgen", ["--target", "web", "--no-typescript", "--out-dir", join(targetDir, "pkg"), join(targetDir, "wasm32-unknown-unknown/release/minimal_get.wasm")], { stdio: "inherit", env });
  mounts["/M"] = join(targetDir, "pkg");
}

const server = await serve({ mounts });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/ab.html?samples=${samples}${minimal ? "&minimal" : ""}`);
await page.waitForFunction(() => window.__ab, null, { timeout: 20 * 60_000, polling: 500 });
const result = await page.evaluate(() => window.__ab);
if (result.error) {
  console.error(result.error);
  process.exit(1);
}
// The renderer's main-thread time per call (Chromium's TaskDuration over a window of calls, median
// of windows): what each call costs the page itself, apart from waiting on the storage process,
// and steadier than wall time on a noisy machine. A window's own evaluate adds about 1 µs a call.
const cdp = await page.context().newCDPSession(page);
await cdp.send("Performance.enable");
const taskSeconds = async () => (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;
const mainThread = {};
for (const name of Object.keys(result)) {
  const perCall = [];
  for (let round = 0; round < Math.max(3, Math.min(samples, 7)); round++) {
    const before = await taskSeconds();
    const calls = await page.evaluate(([name, calls]) => globalThis.__call(name, calls), [name, name.startsWith("contentId") ? 2000 : 300]);
    perCall.push((((await taskSeconds()) - before) * 1e6) / calls);
  }
  mainThread[name] = perCall.sort((a, b) => a - b)[Math.floor(perCall.length / 2)];
}
await browser.close();
server.close();
console.log(`| call | A µs | B µs | B / A | A main thread µs | B main thread µs |\n|---|---:|---:|---:|---:|---:|`);
const names = Object.keys(result);
for (const name of names.filter((n) => !n.endsWith(", A") && !n.endsWith(", B"))) console.log(`| ${name} | ${result[name].toFixed(1)} | | | ${mainThread[name].toFixed(1)} | |`);
for (const name of names.filter((n) => n.endsWith(", A"))) {
  const other = name.replace(/, A$/, ", B");
  const [a, b] = [result[name], result[other]];
  console.log(`| ${name.replace(/, A$/, "")} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(b / a).toFixed(2)} | ${mainThread[name].toFixed(1)} | ${mainThread[other].toFixed(1)} |`);
}
