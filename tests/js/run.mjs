// JS tests of the npm package as a user gets it: `npm pack`, install the tarball into a fresh
// consumer project, then run the contract suite in real browsers, check data survives a reload,
// build consumers with Vite and esbuild, type-check a strict TypeScript consumer, and drive the
// demo. Prints one `<suite>: N passed, N failed` line per suite; exits non-zero on any failure.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { serve } from "../../scripts/serve.mjs";
import { SIZE_BUDGET_GZIP_BYTES, browserPackageSize } from "../../scripts/package-size.mjs";
import { collector, exitCode, report } from "../support/results.mjs";
import { launchChromium } from "./chromium.mjs";
import { openWebDriver } from "./webdriver.mjs";

const root = resolve(import.meta.dirname, "../..");
const work = join(root, "target/js-tests");
const consumer = join(work, "consumer");
const bin = (name) => join(root, "node_modules/.bin", name);
const only = (process.env.BROWSERS ?? "chromium,firefox,webkit").split(",");
const sh = (command, args, cwd = consumer) => execFileSync(command, args, { cwd, stdio: ["ignore", "pipe", "inherit"] }).toString();


// 1. The package as published: pack and install into a fresh project.
rmSync(work, { recursive: true, force: true });
mkdirSync(consumer, { recursive: true });
const tarball = join(work, sh("npm", ["pack", "--silent", "--pack-destination", work], root).trim().split("\n").pop());
writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
sh("npm", ["install", "--no-audit", "--no-fund", "--silent", tarball]);
cpSync(join(root, "tests/js/browser"), join(consumer, "tests"), { recursive: true });
cpSync(join(root, "tests/js/consumers"), consumer, { recursive: true });
// Earlier releases' browser entries, to write databases with them (upgrade.html).
for (const schema of [2, 4]) {
  mkdirSync(join(consumer, `previous/schema-${schema}`), { recursive: true });
  sh("tar", ["-xzf", join(root, `tests/fixtures/web-attachments-schema-${schema}.tgz`), "-C", join(consumer, `previous/schema-${schema}`)]);
}

// 2. Consumers built by bundlers and checked by TypeScript.
const { results: consumerResults, check: step } = collector();
// The oldest TypeScript supported and the newest, each by path (both packages name a `tsc` bin).
for (const [version, tsc] of [["5.9", "node_modules/typescript/bin/tsc"], ["7.0", "node_modules/typescript-7/bin/tsc"]]) {
  await step(`TypeScript ${version}: tsc --strict type-checks a browser consumer, which cannot import the Durable Object store`, () =>
    void sh(process.execPath, [join(root, tsc), "-p", "ts-app"]));
  await step(`TypeScript ${version}: a workerd consumer (customConditions: workerd) imports the Durable Object store`, () =>
    void sh(process.execPath, [join(root, tsc), "-p", "ts-workerd-app"]));
}
// The package's own shape, as publishers check it.
await step(`what a browser loads stays within the size budget (${SIZE_BUDGET_GZIP_BYTES / 1024} KiB gzipped, scripts/package-size.mjs)`, () => {
  const size = browserPackageSize(join(consumer, "node_modules/web-attachments/dist"));
  const total = size.wasmGzipBytes + size.jsGzipBytes;
  if (total > SIZE_BUDGET_GZIP_BYTES) throw new Error(`${(total / 1024).toFixed(1)} KiB gzipped (wasm ${(size.wasmGzipBytes / 1024).toFixed(1)}, JS ${(size.jsGzipBytes / 1024).toFixed(1)}) is over the budget`);
  return `${(total / 1024).toFixed(1)} KiB gzipped`;
});
await step("publint --strict", () => void sh(bin("publint"), ["--strict"], root));
await step("arethetypeswrong --pack --profile esm-only", () => void sh(bin("attw"), ["--pack", ".", "--profile", "esm-only"], root));
await step("vite build bundles the package, a module worker included", () => void sh(bin("vite"), ["build", "--logLevel", "warn"], join(consumer, "vite-app")));
await step("esbuild bundles the package", () => {
  sh(bin("esbuild"), ["main.js", "--bundle", "--format=esm", "--outdir=out", "--log-level=warning"], join(consumer, "esbuild-app"));
  // esbuild leaves `new URL(..., import.meta.url)` alone: the .wasm goes next to the bundle.
  cpSync(join(consumer, "node_modules/web-attachments/dist/wasm"), join(consumer, "esbuild-app/out/wasm"), { recursive: true });
});
report("consumers", consumerResults);

// 3. Browsers.
const server = await serve({ mounts: { "/": consumer, "/demo": join(root, "www"), "/dist": join(root, "dist") } });
const origin = `http://127.0.0.1:${server.address().port}`;

async function collect(page, url, timeoutMs = 180_000) {
  await page.goto(url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const results = await page.evaluate("window.__results ?? null");
    if (results) return results;
    if (Date.now() > deadline) return { passed: 0, failed: 1, failures: [`${url}: no results within ${timeoutMs} ms`], names: [] };
    await new Promise((r) => setTimeout(r, 200));
  }
}

const pages = [
  ["contract", "/tests/contract.html"],
  ["large attachments", "/tests/large.html"],
  ["integrity", "/tests/integrity.html"],
  ["workers", "/tests/workers.html"],
  ["reload (write)", "/tests/persist.html?phase=write"],
  ["reload (read)", "/tests/persist.html?phase=read"],
  ["upgrade (written by the schema-2 release)", "/tests/upgrade.html?from=2&phase=write"],
  ["upgrade (written by the schema-4 release)", "/tests/upgrade.html?from=4&phase=write"],
  ["upgrade (read by this one)", "/tests/upgrade.html?from=2&phase=read"],
  ["upgrade (read by this one, from schema 4)", "/tests/upgrade.html?from=4&phase=read"],
  ["vite build", "/vite-app/dist/index.html"],
  ["esbuild bundle", "/esbuild-app/index.html"],
];

async function runIn(label, page) {
  for (const [suite, path] of pages) report(`${label} ${suite}`, await collect(page, origin + path));
}

if (only.includes("chromium")) {
  const browser = await launchChromium("chromium suites");
  const page = await browser.newPage();
  page.on("pageerror", (error) => console.log(`  [chromium page error] ${error.message}`));
  await runIn("chromium", { goto: (url) => page.goto(url), evaluate: (script) => page.evaluate(script) });
  await browser.close();
  // The demo in a browser of its own: whatever happens to one cannot fail the other.
  const demoBrowser = await launchChromium("demo");
  const { driveDemo } = await import("./demo.mjs");
  report("chromium demo", await driveDemo(demoBrowser, origin));
  await demoBrowser.close();
}
for (const kind of ["firefox", "webkit"].filter((k) => only.includes(k))) {
  const driver = await openWebDriver(kind);
  try {
    await runIn(kind, driver);
  } finally {
    await driver.close();
  }
}
server.close();
process.exit(exitCode("js tests"));
