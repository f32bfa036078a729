// Edge runtimes, for real: the conformance suite inside workerd against Durable Object storage,
// the workerd and Deno example services over HTTP on loopback (workerd restarted on the same
// disk), and the package as installed from its tarball in Node and Deno. Every process is bounded
// in time and stopped. Prints `<suite>: N passed, N failed` per suite.
import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { collector as collect, exitCode, report } from "../support/results.mjs";
import { checkHttpApi } from "./http-api.mjs";

const root = resolve(import.meta.dirname, "../..");
const bin = (name) => join(root, "node_modules/.bin", name);
const work = join(root, "target/edge-tests");

const freePort = () => new Promise((done) => {
  const probe = createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => done(port));
  });
});

/** Starts a server process, waits until it answers HTTP, returns { base, stop, log }. */
async function start(command, args, { env = {}, port } = {}) {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const killer = setTimeout(() => child.kill("SIGKILL"), 300_000); // never outlives the run
  const base = `http://127.0.0.1:${port}`;
  const stop = () => new Promise((done) => {
    clearTimeout(killer);
    if (child.exitCode !== null) return done();
    child.once("exit", done);
    child.kill("SIGTERM");
  });
  for (let i = 0; ; i++) {
    try {
      await fetch(base + "/");
      return { base, stop, log: () => log };
    } catch {
      if (i > 150 || child.exitCode !== null) {
        await stop();
        throw new Error(`${command} did not start:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}


rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// 1. The conformance suite inside workerd, against a Durable Object's storage on disk.
{
  const port = await freePort();
  const storage = mkdtempSync(join(tmpdir(), "wa-conformance-"));
  const server = await start(bin("workerd"), ["serve", "tests/edge/conformance.capnp", "--experimental", "-s", `http=127.0.0.1:${port}`, "-d", `storage=${storage}`], { port });
  const { results, check } = collect();
  for (const [name, path] of [
    ["the Rust conformance suite (plain and session-scoped) on Durable Object storage", "/conformance"],
    ["attachments over the 2 MB value limit are chunked, reassembled and swept whole", "/chunking"],
    ["a put failing mid-transaction leaves nothing behind", "/rollback"],
    ["uncommitted rows are listed a page at a time from their index, built once for rows written before it", "/uncommitted-index"],
    ["a commit whose state the storage refuses writes neither stamps nor state", "/commit-state"],
    ["streams in, staged and published; a cut-off upload cleans up; a sweep reclaims a stalled one's staged chunks", "/upload"],
    ["verify removes damaged attachments (a flipped byte, a lost chunk) and keeps their commits", "/integrity"],
    ["a KV-backed class is refused on construction, with a clear error", "/kv-backed"],
  ]) {
    await check(name, async () => {
      const response = await fetch(server.base + path, { signal: AbortSignal.timeout(120_000) });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`${text}\n${server.log()}`);
      return text;
    });
  }
  await check("a write failing with SQLITE_FULL (setMaxPageCountForTest) rolls back whole; the object works again after workerd resets it", async () => {
    const failed = await fetch(server.base + "/sqlite-full", { signal: AbortSignal.timeout(120_000) });
    const during = await failed.text();
    if (failed.status === 200 && !/QuotaExceeded/.test(during)) throw new Error(`the put: ${during}`);
    const after = await fetch(server.base + "/sqlite-full-after", { signal: AbortSignal.timeout(120_000) });
    const text = await after.text();
    if (after.status !== 200) throw new Error(`${text}\n${server.log()}`);
    return `${failed.status === 200 ? during : `the request failed (${during.slice(0, 60)})`}; ${text}`;
  });
  await server.stop();
  rmSync(storage, { recursive: true, force: true });
  report("workerd durable object", results);
}

// 2. The workerd example service, then a restart on the same disk.
{
  const storage = mkdtempSync(join(tmpdir(), "wa-example-"));
  const serve = async () => {
    const port = await freePort();
    return start(bin("workerd"), ["serve", "examples/workerd/config.capnp", "-s", `http=127.0.0.1:${port}`, "-d", `storage=${storage}`], { port });
  };
  let server = await serve();
  report("workerd example http", await checkHttpApi(server.base));
  const { results, check } = collect();
  const body = new TextEncoder().encode("kept across a restart");
  const ref = await (await fetch(`${server.base}/sessions/restart/attachments`, { method: "PUT", body, headers: { "content-type": "text/plain" } })).json();
  await fetch(`${server.base}/sessions/restart/commit`, { method: "POST" });
  await server.stop();
  server = await serve();
  await check("data and commits survive a workerd restart (storage on local disk)", async () => {
    const response = await fetch(`${server.base}/attachments/${ref.id}`);
    if (response.status !== 200 || (await response.text()) !== "kept across a restart") throw new Error(`status ${response.status}`);
    const sweep = await (await fetch(`${server.base}/reclaim?olderThanEpochMs=${Date.now() + 60_000}`, { method: "POST" })).json();
    if (sweep.deletedCount !== 0 || (await fetch(`${server.base}/attachments/${ref.id}`)).status !== 200) throw new Error(`the commit was lost: ${JSON.stringify(sweep)}`);
  });
  await server.stop();
  rmSync(storage, { recursive: true, force: true });
  report("workerd example restart", results);
}

// 3. The Deno example service.
{
  const port = await freePort();
  const server = await start(bin("deno"), ["run", "--allow-net", "--allow-read", "--allow-env=PORT", "--config", "examples/deno/deno.json", "examples/deno/server.ts"], { port, env: { PORT: String(port) } });
  report("deno example http", await checkHttpApi(server.base));
  await server.stop();
}

// 4. The package as installed from its tarball: Node 20 and Deno resolve their entries.
{
  const consumer = join(work, "consumer");
  mkdirSync(consumer, { recursive: true });
  const tarball = join(work, execFileSync("npm", ["pack", "--silent", "--pack-destination", work], { cwd: root }).toString().trim().split("\n").pop());
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "edge-consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--silent", tarball], { cwd: consumer });
  cpSync(join(root, "tests/edge/installed.test.mjs"), join(consumer, "installed.test.mjs"));
  const { results, check } = collect();
  await check("node --test: the package in Node 20 (memory store, openAttachmentStore)", () =>
    execFileSync(process.execPath, ["--test", "installed.test.mjs"], { cwd: consumer, timeout: 120_000 }).toString().match(/# pass \d+/)?.[0]);
  await check("deno: the same test through the package's exports map", () =>
    execFileSync(bin("deno"), ["test", "--no-check", "--allow-read", "--allow-env", "installed.test.mjs"], { cwd: consumer, timeout: 120_000 }).toString().match(/ok \| \d+ passed/)?.[0]);
  // The workerd condition, as Workers tooling bundles it: esbuild picks dist/workerd.js.
  cpSync(join(root, "examples/workerd/worker.js"), join(consumer, "worker.js"));
  cpSync(join(root, "examples/http-api.js"), join(consumer, "http-api.js"));
  execFileSync(bin("esbuild"), ["worker.js", "--bundle", "--format=esm", "--conditions=workerd,worker", "--platform=neutral",
    "--external:*.wasm", "--outdir=bundle", "--log-level=warning"], { cwd: consumer });
  // .wasm imports stay modules; the bundle refers to them from its own folder.
  const bundlePath = join(consumer, "bundle/worker.js");
  writeFileSync(bundlePath, readFileSync(bundlePath, "utf8").replaceAll("./wasm-workerd/web_attachments_bg.wasm", "./web_attachments_bg.wasm"));
  const port = await freePort();
  const storage = mkdtempSync(join(tmpdir(), "wa-bundled-"));
  const server = await start(bin("workerd"), ["serve", "tests/edge/bundled.capnp", "-s", `http=127.0.0.1:${port}`, "-d", `storage=${storage}`], { port });
  await check("a worker bundled with the `workerd` export condition runs in workerd", async () => {
    const response = await fetch(`${server.base}/sessions/bundled/attachments`, { method: "PUT", body: new Uint8Array([1, 2, 3]), headers: { "content-type": "application/octet-stream" } });
    if (response.status !== 201) throw new Error(`status ${response.status}: ${await response.text()}\n${server.log()}`);
    // Only dist/workerd.js imports the .wasm as a module.
    if (!/import \w+ from "\.\/web_attachments_bg\.wasm"/.test(readFileSync(bundlePath, "utf8"))) throw new Error("the bundle did not use dist/workerd.js");
  });
  await server.stop();
  rmSync(storage, { recursive: true, force: true });
  report("installed package in node, deno and a workerd bundle", results);
}

process.exit(exitCode("edge tests"));
