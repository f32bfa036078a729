// The large-attachment bench (`npm run bench -- --only memory`, and part of a full run):
// - in Chromium on a persistent profile (a user's disk, not the in-memory backend of a private
//   context), a 1 GiB File from disk through a file input: put, then read back through
//   getBlob().stream(), getStream and serveAttachment, beside plain IndexedDB storing the File as a
//   Blob after hashing it with hash-wasm; the renderer's peak memory growth around each step (read
//   from /proc: VmHWM, reset before the step), the JS heap and wasm memory, times to first byte and
//   the longest main-thread task;
// - times as ratios in the same run: a 300 MiB put and getBlob against the same plain steps;
// - workerd: a 100 MB PUT and GET through the example service, its peak memory.
//   node bench/large.mjs [--scale X] [--rounds N]     (prints JSON; bench/run.mjs merges it)
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";
import { descendants, isRenderer, peakGrowth } from "./proc.mjs";

const root = resolve(import.meta.dirname, "..");
const out = join(root, "target/bench-large");
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const scale = option("--scale", 1);
const rounds = option("--rounds", 3);
const MiB = 1 << 20;
const log = (...parts) => console.error("[bench large]", ...parts);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A file of `bytes` incompressible bytes (each MiB a little different), made once. */
function fileOf(name, bytes) {
  const path = join(out, name);
  if (existsSync(path) && statSync(path).size === bytes) return path;
  const block = randomBytes(MiB);
  const fd = openSync(path, "w");
  for (let at = 0; at < bytes; at += MiB) {
    block.writeUInt32LE(at / MiB, 0);
    writeSync(fd, block, 0, Math.min(MiB, bytes - at));
  }
  closeSync(fd);
  return path;
}

const freePort = () => new Promise((done) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => done(port));
  });
});

async function browserFigures() {
  mkdirSync(out, { recursive: true });
  execFileSync(join(root, "node_modules/.bin/esbuild"), ["bench/large.js", "--bundle", "--format=esm", "--external:/dist/*", `--outfile=${out}/large.js`, "--log-level=warning"], { cwd: root, stdio: "inherit" });
  writeFileSync(join(out, "index.html"), `<!doctype html><meta charset="utf-8"><title>large</title><input type="file"><script type="module" src="./large.js"></script>`);
  const big = fileOf("one-gibibyte.bin", Math.round(1024 * MiB * scale));
  const medium = fileOf("three-hundred-mebibytes.bin", Math.round(300 * MiB * scale));
  const server = await serve({ mounts: { "/": out, "/dist": join(root, "dist") } });
  const profile = mkdtempSync(join(tmpdir(), "wa-bench-large-"));
  const port = await freePort();
  const chrome = spawn(process.env.CHROMIUM ?? "/usr/bin/chromium", [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", `--remote-debugging-port=${port}`, `--user-data-dir=${profile}`, "about:blank",
  ], { stdio: "ignore", detached: true });
  let browser;
  for (let i = 0; !browser; i++) {
    browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`).catch((error) => (i > 100 ? Promise.reject(error) : undefined));
    if (!browser) await new Promise((r) => setTimeout(r, 100));
  }
  const page = browser.contexts()[0].pages()[0] ?? (await browser.contexts()[0].newPage());
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  page.on("pageerror", (error) => log("page error:", error.message));
  await page.waitForFunction(() => window.benchReady);
  const renderers = () => descendants(chrome.pid).filter(isRenderer);
  // The browser reads the file from disk itself, as with a user's file input (CDP, by path).
  const cdp = await page.context().newCDPSession(page);
  const chooseFile = async (path) => {
    const { root: documentNode } = await cdp.send("DOM.getDocument");
    const { nodeId } = await cdp.send("DOM.querySelector", { nodeId: documentNode.nodeId, selector: "input[type=file]" });
    await cdp.send("DOM.setFileInputFiles", { nodeId, files: [path] });
  };
  const call = (step, system) => page.evaluate(([step, system]) => window.bench[step](system), [step, system]);
  const systems = ["web-attachments", "plain IndexedDB"];

  // Memory, and the long tasks, with the 1 GiB file.
  await chooseFile(big);
  const setup = await page.evaluate(() => window.bench.setup());
  log(`${(setup.fileBytes / 2 ** 30).toFixed(2)} GiB file ready; Blobs stored as Blobs: ${setup.storesBlobs}`);
  const memory = {};
  for (const system of systems) {
    const steps = {};
    for (const step of ["put", "readBlobStream", "readStream", "serve"]) {
      steps[step] = await peakGrowth(renderers(), () => call(step, system));
      log(system, step, `${(steps[step].ms / 1000).toFixed(2)} s, renderer +${(steps[step].peakGrowthBytes / MiB).toFixed(1)} MiB, longest task ${steps[step].longestTaskMs.toFixed(0)} ms`);
    }
    memory[system] = steps;
  }
  await page.evaluate(() => window.bench.clear());

  // Times, paired per round: a 300 MiB put, and getBlob.
  await chooseFile(medium);
  await page.evaluate(() => window.bench.setup());
  const ratios = { put300MiB: [], getBlob: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...systems].reverse() : systems;
    const ms = {};
    for (const system of order) ms[system] = (await call("put", system)).ms;
    ratios.put300MiB.push(ms["plain IndexedDB"] / ms["web-attachments"]);
    const gets = {};
    // One after another (a caller's latency), nine each, interleaved.
    const samples = Object.fromEntries(systems.map((system) => [system, []]));
    for (let i = 0; i < 9; i++) for (const system of order) samples[system].push((await call("getBlob", system)).ms);
    for (const system of order) gets[system] = median(samples[system]);
    ratios.getBlob.push(gets["plain IndexedDB"] / gets["web-attachments"]);
    await page.evaluate(() => window.bench.clear());
    log(`round ${round + 1}: put 300 MiB ${ms["web-attachments"].toFixed(0)} ms against ${ms["plain IndexedDB"].toFixed(0)} ms; getBlob ${gets["web-attachments"].toFixed(2)} ms against ${gets["plain IndexedDB"].toFixed(2)} ms`);
  }
  const version = browser.version();
  await browser.close().catch(() => {});
  const exited = new Promise((done) => (chrome.exitCode !== null ? done() : chrome.once("exit", done)));
  process.kill(-chrome.pid, "SIGKILL"); // the whole group: its helpers write to the profile too
  await exited;
  await new Promise((r) => setTimeout(r, 200));
  server.close();
  rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  return { chromium: version, setup, memory, ratios: { put300MiB: median(ratios.put300MiB), getBlob: median(ratios.getBlob), rounds: ratios } };
}

async function workerdFigures() {
  const port = await freePort();
  const storage = mkdtempSync(join(tmpdir(), "wa-bench-workerd-"));
  const workerd = spawn(join(root, "node_modules/.bin/workerd"), ["serve", "examples/workerd/config.capnp", "-s", `http=127.0.0.1:${port}`, "-d", `storage=${storage}`], { cwd: root, stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await fetch(base + "/");
      break;
    } catch {
      if (i > 150) throw new Error("workerd did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // The workerd binary is the launcher's child: measure every process under it.
  const pids = () => [String(workerd.pid), ...descendants(workerd.pid)].filter((pid) => existsSync(`/proc/${pid}/status`));
  const bytes = Math.round(100 * 1000 * 1000 * scale);
  const block = randomBytes(MiB);
  const body = () => new ReadableStream({
    start() { this.sent = 0; },
    pull(controller) {
      if (this.sent >= bytes) return controller.close();
      const chunk = block.subarray(0, Math.min(MiB, bytes - this.sent));
      this.sent += chunk.length;
      controller.enqueue(new Uint8Array(chunk));
    },
  });
  const put = await peakGrowth(pids(), async () => {
    const started = performance.now();
    const response = await fetch(`${base}/sessions/bench/attachments`, { method: "PUT", body: body(), duplex: "half", headers: { "content-type": "video/mp4" } });
    return { status: response.status, ref: await response.json(), ms: performance.now() - started };
  });
  const get = await peakGrowth(pids(), async () => {
    const started = performance.now();
    const response = await fetch(`${base}/attachments/${put.ref.id}`);
    let read = 0;
    for await (const chunk of response.body) read += chunk.length;
    return { status: response.status, read, ms: performance.now() - started };
  });
  const stopped = new Promise((done) => (workerd.exitCode !== null ? done() : workerd.once("exit", done)));
  workerd.kill("SIGTERM");
  await stopped;
  rmSync(storage, { recursive: true, force: true, maxRetries: 5 });
  if (put.status !== 201 || get.read !== bytes) throw new Error(`workerd: PUT ${put.status}, GET read ${get.read} of ${bytes}`);
  log(`workerd: PUT ${bytes} bytes +${(put.peakGrowthBytes / MiB).toFixed(1)} MiB, GET +${(get.peakGrowthBytes / MiB).toFixed(1)} MiB`);
  return { bytes, putPeakGrowthBytes: put.peakGrowthBytes, getPeakGrowthBytes: get.peakGrowthBytes, putMs: put.ms, getMs: get.ms };
}

const browserResult = await browserFigures();
const workerd = await workerdFigures();
process.stdout.write(JSON.stringify({ scale, ...browserResult, workerd }) + "\n");
