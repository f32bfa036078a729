// The fault lab: real faults provoked in real engines, on profiles of its own (see TOOLCHAIN.md):
//   quota        Chromium (CDP quota override), Firefox (a fixed storage limit)
//   disk         a full disk: the profile on a small tmpfs, filled after launch (needs root to mount)
//   crash        kill -9 at random moments while a page puts, commits and sweeps; relaunch; check
//   corruption   with the browser stopped, blob files deleted, log and value bytes flipped
// Usage: node tests/faults/run.mjs [--cycles N] [--only quota,disk,crash,corruption] [--browsers chromium,firefox] [--seed S]
// Prints `<suite>: N passed, N failed` per suite and writes target/faults/report.json (the
// README's Reliability table).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { serve } from "../../scripts/serve.mjs";
import { collector, exitCode, expect, report } from "../support/results.mjs";
import { chromiumOn, firefoxOn, webkitOn } from "./browsers.mjs";
import { seededBytes } from "./seeded.js";

const root = resolve(import.meta.dirname, "../..");
const work = join(root, "target/faults");
const option = (name) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const cycles = Number(option("cycles") ?? 5);
const only = (option("only") ?? "quota,disk,crash,corruption,connection").split(",");
const browsers = (option("browsers") ?? "chromium,firefox,webkit").split(",");
const initialSeed = Number(option("seed") ?? Date.now() % 100_000);
let seed = initialSeed;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const KiB = 1024, MiB = 1024 * 1024;

rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "state"), { recursive: true });
// One fixed origin for the whole run: a relaunched browser must find its databases under it.
const server = await serve({ mounts: { "/faults": join(root, "tests/faults"), "/soak": join(root, "tests/soak"), "/dist": join(root, "dist"), "/state": join(work, "state") } });
const origin = `http://127.0.0.1:${server.address().port}`;
const lab = `${origin}/faults/lab.html`;
console.log(`faults: ${cycles} crash cycles per engine, seed ${initialSeed} (replay: npm run faults -- --cycles ${cycles} --seed ${initialSeed})`);

/** The record of what was tried and lost, per fault and engine, for the README. */
const table = [];
const launch = (kind, profile, prefs) => (kind === "chromium" ? chromiumOn(profile) : kind === "firefox" ? firefoxOn(profile, prefs) : webkitOn(profile));
/** Loads the lab page in `browser` and waits until its steps are there. */
async function loadLab(browser) {
  await browser.goto(lab);
  for (let i = 0; !(await browser.evaluate("window.__ready === true")); i++) {
    if (i > 100) throw new Error("the lab page did not load");
    await sleep(100);
  }
}
async function open(kind, profile, prefs) {
  const browser = await launch(kind, profile, prefs);
  await loadLab(browser);
  return browser;
}
/** Calls `lab.<step>(...args)` in the page and returns its result; one that hangs fails by name. */
const step = (browser, name, ...args) => {
  let timer;
  const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`lab.${name} did not answer within 150 s`)), 150_000)));
  return Promise.race([browser.evaluate(`window.lab.${name}(...${JSON.stringify(args)})`), late]).finally(() => clearTimeout(timer));
};

/**
 * Waits (up to 20 s) until a put of `size` bytes lands again on the same store object: engines
 * give freed space back asynchronously (Chromium deletes a deleted value's blob file, and compacts
 * its log, after the transaction). Returns how long that took.
 */
async function untilWritesLand(browser, database, size) {
  const started = Date.now();
  for (;;) {
    const works = await step(browser, "works", database, { size });
    if (works.outcome === "ok") return Date.now() - started;
    if (Date.now() - started > 60_000 || works.outcome !== "QuotaExceeded") throw new Error(`writes do not land again: ${JSON.stringify(works)}`);
    await sleep(250);
  }
}

const quotaRefusals = (tried) => Object.entries(tried).filter(([, result]) => !["ok", "QuotaExceeded"].includes(result.outcome)).map(([what, result]) => `${what}: ${result.outcome} ${result.message ?? ""}`);

// ---- Space: a quota, a full disk ----

/** Fills the store until refused, tries every write while full, checks the layout. */
async function whileOutOfSpace(browser, database, size, blob) {
  const filled = await step(browser, "fill", database, { size, blob });
  expect(filled.refused?.outcome === "QuotaExceeded", `filling with ${size}-byte ${blob ? "Blobs" : "buffers"} ended ${JSON.stringify(filled.refused)} after ${filled.count}`);
  const tried = await step(browser, "whileFull", database, { size });
  const wrong = quotaRefusals(tried);
  expect(wrong.length === 0, `while full, writes failed otherwise than QuotaExceeded: ${wrong.join("; ")}`);
  // Engines account on their own terms (Firefox lets writes into its file's free pages past the
  // refusal): each write is refused QuotaExceeded or lands whole, which the layout check shows.
  // Chromium cannot even open the database on a full disk (nor can the checker's own plain
  // connection, which is left unanswered or refused "Internal error opening backing store"): the
  // layout is then checked once space is freed.
  const seen = await step(browser, "inspect", database).catch((error) => {
    if (/full disk|QuotaExceeded|opening backing store/.test(error.message)) return { violations: [], deferred: error.message };
    throw error;
  });
  if (seen.violations.length) {
    const id = seen.violations[0].split(" ")[0];
    const raw = await step(browser, "rawRecord", database, id).catch((error) => error.message);
    throw new Error(`after the refusals: ${seen.violations.slice(0, 5).join("; ")} (raw: ${JSON.stringify(raw)}; fill ${JSON.stringify(filled).slice(0, 200)}; then ${JSON.stringify(tried).slice(0, 600)})`);
  }
  return { filled, tried, seen };
}

async function quota(kind) {
  const { results, check } = collector();
  if (kind === "webkit") {
    results.names.push("SKIPPED webkit quota: not provoked here (a disk full is, below)");
    return results;
  }
  const profile = join(work, `quota-${kind}`);
  mkdirSync(profile, { recursive: true });
  // Firefox: the site's limit is min(limit, max(limit / 5, 10 MiB)): 20 MiB here.
  const browser = await open(kind, profile, kind === "firefox" ? { "dom.quotaManager.temporaryStorage.fixedLimit": 100 * KiB } : undefined);
  const tried = { writesRefused: 0, lost: 0 };
  try {
    if (kind === "chromium") {
      const cdp = await browser.cdp();
      await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 12 * MiB });
    }
    for (const [size, blob] of [[256 * KiB, false], [256 * KiB, true]]) {
      const database = `quota-${blob ? "blobs" : "buffers"}`;
      let first;
      await check(`${kind} quota, ${blob ? "Blobs" : "buffers"} of 256 KiB: the put that does not fit, then single puts, putMany, session puts and a commit with a large state are refused QuotaExceeded or land whole, keeping nothing partial`, async () => {
        const out = await whileOutOfSpace(browser, database, size, blob);
        first = out.filled.count;
        tried.writesRefused += 1 + Object.values(out.tried).filter((result) => result.outcome === "QuotaExceeded").length;
        return `${out.filled.count} fit (${(out.filled.bytes / MiB).toFixed(1)} MiB); ${JSON.stringify(Object.fromEntries(Object.entries(out.tried).map(([k, v]) => [k, v.outcome])))}`;
      });
      await check(`${kind} quota, ${blob ? "Blobs" : "buffers"}: a sweep frees the space, the same store object works again, and as much fits again (nothing leaked)`, async () => {
        const freed = await step(browser, "free", database);
        expect(freed.sweep.outcome === "ok" && freed.left === 0 && freed.uncommitted === 0, `freeing: ${JSON.stringify(freed)}`);
        const emptied = await step(browser, "inspect", database);
        expect(emptied.attachments === 0 && emptied.rows === 0, `after freeing, the database still holds ${JSON.stringify(emptied)}`);
        const waited = await untilWritesLand(browser, database, size);
        await step(browser, "free", database);
        // Chromium gives the space back once it has deleted the blob files and compacted: as much
        // fits again after the sweep. Firefox's SQLite file keeps freed pages, counted against the
        // quota until its own maintenance, so only deleting the database gives it all back.
        let refill = "after the sweep";
        if (kind === "firefox") {
          await step(browser, "dropDatabase", database);
          refill = "after deleting the database";
        }
        await sleep(1000);
        const again = await step(browser, "fill", database, { size, blob });
        // What the engine keeps of deleted data until it compacts (LevelDB's tombstones) is not ours.
        expect(again.refused?.outcome === "QuotaExceeded" && again.count >= first * 0.85, `refilled ${again.count} ${refill} where ${first} fit first (${JSON.stringify(again.refused)})`);
        const seen = await step(browser, "inspect", database);
        expect(seen.violations.length === 0, seen.violations.slice(0, 5).join("; "));
        const last = await step(browser, "free", database);
        expect(last.sweep.outcome === "ok" && last.left === 0, `freeing after the refill: ${JSON.stringify(last)}`);
        await step(browser, "dropDatabase", database);
        return `writes landed again ${waited} ms after the sweep; ${again.count} fit again ${refill}, of ${first}`;
      });
    }
  } finally {
    await browser.close();
  }
  table.push({ fault: "quota", engine: kind, tried: `${tried.writesRefused} refused writes, 2 refills`, lost: results.failed ? "see failures" : 0 });
  return results;
}

/** Whether this process may mount a tmpfs (root, or a capable container). */
function canMount(dir) {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "ignore" });
    execFileSync("umount", [dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function availableBytes(dir) {
  const line = execFileSync("df", ["-B1", "--output=avail", dir]).toString().trim().split("\n").pop();
  return Number(line);
}

async function disk(kind) {
  const { results, check } = collector();
  const mountpoint = join(work, `disk-${kind}`);
  mkdirSync(mountpoint, { recursive: true });
  if (!canMount(mountpoint)) {
    results.names.push(`SKIPPED ${kind} disk full: this process may not mount a tmpfs (run as root)`);
    table.push({ fault: "disk full", engine: kind, tried: "skipped (no tmpfs)", lost: "-" });
    return results;
  }
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=96m", "tmpfs", mountpoint]);
  const profile = join(mountpoint, "profile");
  const filler = join(mountpoint, "filler");
  mkdirSync(profile);
  const fillDisk = () => {
    rmSync(filler, { force: true });
    const leave = 1.5 * MiB;
    execFileSync("fallocate", ["-l", String(Math.max(0, availableBytes(mountpoint) - leave)), filler]);
  };
  let tried = 0;
  let browser;
  try {
    browser = await open(kind, profile);
    for (const [size, blob, label] of [[32 * KiB, false, "small values (32 KiB)"], [512 * KiB, true, "large values (512 KiB Blobs)"]]) {
      const database = `disk-${blob ? "large" : "small"}`;
      await check(`${kind} disk full, ${label}: writes are refused QuotaExceeded, keeping nothing partial`, async () => {
        expect((await step(browser, "works", database, { size: 4 * KiB })).outcome === "ok", "before filling the disk");
        fillDisk();
        const out = await whileOutOfSpace(browser, database, size, blob);
        tried += 1 + Object.values(out.tried).filter((result) => result.outcome === "QuotaExceeded").length;
        const later = out.seen.deferred ? "; the layout is checked after freeing (the engine cannot open the database on a full disk)" : "";
        return `${out.filled.count} fit; refused as ${out.filled.refused.cause ?? "?"}: ${out.filled.refused.message.slice(0, 120)}; then ${JSON.stringify(Object.fromEntries(Object.entries(out.tried).map(([k, v]) => [k, v.outcome])))}${later}`;
      });
      await check(`${kind} disk full, ${label}: once space is freed, the same store object works again by itself`, async () => {
        rmSync(filler, { force: true });
        const works = await step(browser, "works", database, { size });
        expect(works.outcome === "ok", `after freeing the disk: ${JSON.stringify(works)}`);
        const seen = await step(browser, "inspect", database);
        expect(seen.violations.length === 0, seen.violations.slice(0, 5).join("; "));
        const freed = await step(browser, "free", database);
        expect(freed.sweep.outcome === "ok" && freed.left === 0, `freeing: ${JSON.stringify(freed)}`);
      });
    }
  } finally {
    await browser?.close();
    rmSync(filler, { force: true });
    try {
      execFileSync("umount", ["-l", mountpoint]);
    } catch {}
  }
  table.push({ fault: "disk full", engine: kind, tried: `${tried} refused writes (small and large values), 2 recoveries`, lost: results.failed ? "see failures" : 0 });
  return results;
}

// ---- Crashes: kill -9 mid-workload, relaunch, check ----

async function crash(kind) {
  const { results, check } = collector();
  const profile = join(work, `crash-${kind}`);
  mkdirSync(profile, { recursive: true });
  const database = "crash";
  const history = [];
  const totals = { acknowledgedCommits: 0, unknown: 0, reclaimed: 0, calls: 0, discards: [] };
  const checkNow = async (browser, cycle) => {
    writeFileSync(join(work, "state", `history-${kind}.json`), JSON.stringify(history));
    const outcome = await step(browser, "checkAfterCrash", { database, historyUrl: `/state/history-${kind}.json` });
    if (outcome.discarded) {
      // The engine lost the database under us: the library cannot keep what the engine throws
      // away, but it must say so. Silently gone is a failure; said (`dataLoss`) is counted apart.
      const { existed, dataLoss } = outcome.discarded;
      expect(dataLoss, `after kill ${cycle}, the database ${existed ? "was emptied" : "is gone"} and store.dataLoss says nothing`);
      const lost = history.filter((entry) => entry.op === "commit" && entry.outcome === "ok").length;
      totals.discards.push(`kill ${cycle}: ${dataLoss.kind}, ${dataLoss.message.slice(0, 120)} (${lost} acknowledged commits went with it)`);
      history.length = 0;
      return { discarded: dataLoss, counts: { promisedChecked: 0 }, reclaimed: 0 };
    }
    expect(outcome.violations.length === 0, `after kill ${cycle}: ${outcome.violations.slice(0, 8).join("; ")}`);
    expect(outcome.uncommitted === 0, `after kill ${cycle}, the sweep left ${outcome.uncommitted} uncommitted rows`);
    totals.reclaimed += outcome.reclaimed;
    return outcome;
  };
  for (let cycle = 1; cycle <= cycles; cycle++) {
    await check(`${kind} crash ${cycle}/${cycles}: killed mid-workload; relaunched, every acknowledged commit is kept, nothing is torn, a sweep reclaims what was left uncommitted`, async () => {
      let browser = await open(kind, profile);
      const runFor = 800 + random() * 3200;
      const log = [];
      let heard = Date.now();
      try {
        if (history.length) await checkNow(browser, cycle - 1);
        await step(browser, "startWorkload", { database, seed: seed + cycle, actor: `${kind}-${cycle}` });
        const started = Date.now();
        let from = 0;
        while (Date.now() - started < runFor) {
          await sleep(50 + random() * 100);
          heard = Date.now();
          const { entries, error } = await step(browser, "takeLog", from);
          if (error) throw new Error(`the workload failed: ${error}`);
          // Entries still running stay at the end of our copy until they end.
          log.splice(from, log.length - from, ...entries);
          while (from < log.length && log[from].outcome !== undefined) from++;
        }
      } catch (error) {
        await browser.close();
        throw error;
      }
      await browser.kill();
      for (const entry of log) if (entry.outcome === undefined) (entry.outcome = "unknown"), totals.unknown++;
      // What the page began after we last asked: unknown to us, any of it may have landed.
      log.push({ actor: `${kind}-${cycle}`, seq: -1, op: "unseen", start: heard, end: Infinity, outcome: "unknown" });
      history.push(...log);
      totals.calls += log.length;
      totals.acknowledgedCommits += log.filter((entry) => entry.op === "commit" && entry.outcome === "ok").length;
      browser = await open(kind, profile);
      try {
        const outcome = await checkNow(browser, cycle);
        if (outcome.discarded) return `killed after ${Math.round(runFor)} ms; relaunched, THE ENGINE DISCARDED THE DATABASE and said so: dataLoss ${JSON.stringify(outcome.discarded)}`;
        return `killed after ${Math.round(runFor)} ms: ${log.length} calls, ${log.filter((e) => e.outcome === "unknown" && e.op !== "unseen").length} in flight; checked ${outcome.counts.promisedChecked} promised attachments; the sweep reclaimed ${outcome.reclaimed}`;
      } finally {
        await browser.close();
      }
    });
  }
  const discarded = totals.discards.length ? `; the engine discarded the database ${totals.discards.length} times, saying so: ${totals.discards.join("; ")}` : "";
  table.push({ fault: "crash (kill -9)", engine: kind, tried: `${cycles} kills, ${totals.calls} calls, ${totals.acknowledgedCommits} acknowledged commits, ${totals.unknown} in flight${discarded}`, lost: results.failed ? "see failures" : totals.discards.length ? "by the engine, surfaced as dataLoss" : 0 });
  return results;
}

// ---- Corruption: damage files of a stopped browser's profile ----

const SEEDED = [[1000, false], [70_000, false], [200_000, true], [300_000, false], [150_000, true]];

/** Files under `dir` whose path matches `pattern`, largest first. */
function filesUnder(dir, pattern) {
  const found = [];
  const walk = (at) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (pattern.test(path)) found.push({ path, size: stat.size });
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.sort((a, b) => b.size - a.size);
}

function flipBytes(path, at) {
  const bytes = readFileSync(path);
  for (const offset of at) bytes[Math.min(bytes.length - 1, Math.floor(offset * bytes.length))] ^= 0xff;
  writeFileSync(path, bytes);
}

async function corruption(kind) {
  const { results, check } = collector();
  const profile = join(work, `corrupt-${kind}`);
  mkdirSync(profile, { recursive: true });
  const damaged = [];
  const seedThenStop = async (database) => {
    const browser = await open(kind, profile);
    try {
      return await step(browser, "seed", database, { sizes: SEEDED });
    } finally {
      await browser.close();
    }
  };
  const reopenAndRead = async (database, refs, order) => {
    const browser = await open(kind, profile);
    try {
      const after = await step(browser, "afterDamage", database, { ids: refs.map((ref) => ref.id), order });
      const healed = await step(browser, "heal", database, { sizes: SEEDED });
      return { after, healed };
    } finally {
      await browser.close();
    }
  };
  const neverWrong = (after) => {
    const wrong = Object.entries(after.verified).filter(([, read]) => read === "WRONG BYTES");
    expect(wrong.length === 0, `verifyReads returned wrong bytes as good for ${wrong.map(([id]) => id.slice(0, 8))}`);
  };
  if (kind === "chromium") {
    await check("chromium: a deleted blob file reads Corrupt (NotReadableError), verify removes that attachment, a re-put heals", async () => {
      const refs = await seedThenStop("blob-file");
      const files = filesUnder(join(profile, "Default/IndexedDB"), /\.indexeddb\.blob\/.+/);
      expect(files.length > 0, "no blob files in the profile");
      rmSync(files[0].path);
      const { after, healed } = await reopenAndRead("blob-file", refs);
      neverWrong(after);
      const corrupt = after.report.value?.corrupt ?? [];
      const readCorrupt = Object.entries(after.unverified).filter(([, read]) => read === "Corrupt").map(([id]) => id);
      expect(readCorrupt.length >= 1 && corrupt.length >= 1, `reads ${JSON.stringify(after.unverified)}; verify ${JSON.stringify(after.report)}`);
      expect(healed.right && healed.corrupt === 0, `healing: ${JSON.stringify(healed)}`);
      damaged.push("a deleted blob file");
      return `${corrupt.length} of ${refs.length} reported corrupt and removed`;
    });
    await check("chromium: a truncated LevelDB log: Chromium drops the last records silently; what is left is whole, and nothing wrong is returned", async () => {
      const refs = await seedThenStop("log-cut");
      const logs = filesUnder(join(profile, "Default/IndexedDB"), /\.indexeddb\.leveldb\/\d+\.log$/);
      expect(logs.length > 0, "no LevelDB log in the profile");
      const bytes = readFileSync(logs[0].path);
      writeFileSync(logs[0].path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      const browser = await open(kind, profile);
      let seen, after;
      try {
        after = await step(browser, "afterDamage", "log-cut", { ids: refs.map((ref) => ref.id), order: "verify" });
        seen = await step(browser, "inspect", "log-cut");
      } finally {
        await browser.close();
      }
      neverWrong(after);
      expect(seen.violations.length === 0, `after the cut: ${seen.violations.slice(0, 5).join("; ")}`);
      const kept = Object.values(after.unverified).filter((read) => read === "right bytes").length;
      damaged.push("a truncated log");
      return `${kept} of ${refs.length} attachments read back right, the rest ${[...new Set(Object.values(after.unverified).filter((read) => read !== "right bytes"))].join(", ") || "-"} (dataLoss ${JSON.stringify(after.dataLoss)}: dropped without a word, a loss no library above the engine can see); the layout is whole`;
    });
    await check("chromium: a flipped byte in the LevelDB log: Chromium discards the database, and store.dataLoss says so", async () => {
      const refs = await seedThenStop("log-flip");
      const logs = filesUnder(join(profile, "Default/IndexedDB"), /\.indexeddb\.leveldb\/\d+\.log$/);
      expect(logs.length > 0, "no LevelDB log in the profile");
      flipBytes(logs[0].path, [0.3, 0.5, 0.7]);
      const { after } = await reopenAndRead("log-flip", refs);
      neverWrong(after);
      expect(after.dataLoss?.kind === "total" || Object.values(after.unverified).every((read) => read === "right bytes" || read === "NotFound"), `reads ${JSON.stringify(after.unverified)}; dataLoss ${JSON.stringify(after.dataLoss)}`);
      damaged.push("a flipped log byte");
      return `dataLoss ${JSON.stringify(after.dataLoss)}; reads ${[...new Set(Object.values(after.unverified))].join(", ")}`;
    });
  } else if (kind === "firefox") {
    const flipValueFiles = () => {
      const files = filesUnder(join(profile, "storage/default"), /\/idb\/[^/]+\.files\/\d+$/);
      expect(files.length > 0, "no value files in the profile");
      for (const file of files) flipBytes(file.path, [0.5]);
      return files.length;
    };
    const damagedIds = (reads) => Object.entries(reads).filter(([, read]) => read !== "right bytes").map(([id]) => id).sort();
    await check("firefox: flipped bytes in stored value files come back wrong without an error; verify finds every damaged attachment, removes it, and a re-put heals", async () => {
      const refs = await seedThenStop("file-flip");
      const flipped = flipValueFiles();
      const { after, healed } = await reopenAndRead("file-flip", refs, "verify");
      const wrong = damagedIds(after.unverified);
      expect(wrong.length >= 1, `unverified reads ${JSON.stringify(after.unverified)}`);
      expect(JSON.stringify([...(after.report.value?.corrupt ?? [])].sort()) === JSON.stringify(wrong), `verify ${JSON.stringify(after.report)} where reads found ${wrong}`);
      expect(healed.right && healed.corrupt === 0, `healing: ${JSON.stringify(healed)}`);
      damaged.push(`${flipped} flipped value files`);
      return `${flipped} files flipped: unverified reads ${[...new Set(Object.values(after.unverified))].join(", ")}; verify reported and removed ${wrong.length}; healed`;
    });
    await check("firefox: with verifyReads, the same damage is refused Corrupt, never returned as good", async () => {
      const refs = await seedThenStop("file-flip-reads");
      const flipped = flipValueFiles();
      const { after } = await reopenAndRead("file-flip-reads", refs, "reads");
      neverWrong(after);
      const wrong = damagedIds(after.unverified);
      const refused = Object.entries(after.verified).filter(([, read]) => read === "Corrupt").map(([id]) => id).sort();
      expect(wrong.length >= 1 && JSON.stringify(refused) === JSON.stringify(wrong), `unverified ${JSON.stringify(after.unverified)}; verified ${JSON.stringify(after.verified)}`);
      damaged.push(`${flipped} more`);
      return `${refused.length} refused Corrupt and removed; the others read right`;
    });
  }
  if (kind === "webkit") {
    await check("webkit: bytes flipped in its IndexedDB.sqlite3 come back wrong without an error; with verifyReads each is refused Corrupt and removed, never returned; a re-put heals", async () => {
      const refs = await seedThenStop("sqlite-flip");
      const files = filesUnder(join(profile, "data/databases/indexeddb"), /IndexedDB\.sqlite3$/);
      expect(files.length > 0, "no IndexedDB.sqlite3 in the profile");
      // In the values' own bytes, found in the file (a flip at a fixed offset may land in a
      // B-tree page instead, and WebKit then fails whole listings: damage of another kind).
      let flipped = 0;
      for (const file of files) {
        const bytes = readFileSync(file.path);
        SEEDED.forEach(([size], i) => {
          const middle = Buffer.from(seededBytes(size, i + 1).subarray(size >> 1, (size >> 1) + 16));
          const at = bytes.indexOf(middle);
          if (i % 2 === 1 && at >= 0) (bytes[at + 7] ^= 0xff), flipped++;
        });
        writeFileSync(file.path, bytes);
      }
      expect(flipped === 2, `found ${flipped} of the 2 values to damage in IndexedDB.sqlite3`);
      const { after, healed } = await reopenAndRead("sqlite-flip", refs, "reads");
      neverWrong(after);
      const damagedReads = Object.entries(after.unverified).filter(([, read]) => read !== "right bytes");
      const refused = Object.entries(after.verified).filter(([, read]) => read === "Corrupt");
      expect(refused.length === damagedReads.length, `unverified ${JSON.stringify(after.unverified)}; verified ${JSON.stringify(after.verified)}`);
      expect(healed.right && healed.corrupt === 0, `healing: ${JSON.stringify(healed)}`);
      damaged.push(`2 values' bytes flipped in IndexedDB.sqlite3`);
      return `unverified reads: ${[...new Set(Object.values(after.unverified))].join(", ")} (${damagedReads.length} damaged); verified: ${[...new Set(Object.values(after.verified))].join(", ")}; verify: ${JSON.stringify(after.report.value ?? after.report.outcome)}`;
    });
  }
  table.push({ fault: "corruption", engine: kind, tried: damaged.join(", ") || "-", lost: results.failed ? "see failures" : "0 wrong bytes returned verified" });
  return results;
}

// ---- Connection loss: the engine's storage process dies under a page that goes on writing ----

async function connection(kind) {
  const { results, check } = collector();
  if (kind !== "webkit") {
    results.names.push(`SKIPPED ${kind} connection loss: its storage lives in the browser process (a kill of it is the crash above)`);
    return results;
  }
  const totals = { calls: 0, acknowledged: 0, failedAfter: 0, landed: 0 };
  for (let cycle = 1; cycle <= Math.min(cycles, 3); cycle++) {
    await check(`webkit connection loss ${cycle}: WebKitNetworkProcess killed mid-write; every acknowledged commit is kept, every failure says its write may have landed, and a reload works again`, async () => {
      const profile = join(work, `connection-${kind}-${cycle}`);
      mkdirSync(profile, { recursive: true });
      const browser = await open(kind, profile);
      try {
        const running = step(browser, "writeLoop", "loss", { ms: 4000 });
        await sleep(800 + random() * 1500);
        const lostAt = Date.now();
        browser.killNetworkProcess();
        const log = await running;
        await loadLab(browser);
        const verdict = await step(browser, "afterLoss", "loss", { log, lostAt });
        expect(verdict.violations.length === 0, verdict.violations.slice(0, 5).join("; "));
        const works = await step(browser, "works", "loss", { size: 100_000 });
        expect(works.outcome === "ok", `after the reload: ${JSON.stringify(works)}`);
        for (const key of Object.keys(totals)) totals[key] += verdict[key] ?? 0;
        return `${verdict.calls} calls, ${verdict.acknowledged} commits acknowledged and kept; ${verdict.failedAfter} failed after the loss, saying so, of which ${verdict.landed} had landed`;
      } finally {
        await browser.close();
      }
    });
  }
  table.push({ fault: "connection loss", engine: kind, tried: `${Math.min(cycles, 3)} kills of WebKitNetworkProcess, ${totals.calls} calls, ${totals.acknowledged} acknowledged commits, ${totals.failedAfter} failed after the loss (${totals.landed} of them had landed)`, lost: results.failed ? "see failures" : 0 });
  return results;
}

const suites = { quota, disk, crash, corruption, connection };
for (const name of only) {
  for (const kind of browsers) {
    let results;
    try {
      results = await suites[name](kind);
    } catch (error) {
      results = { passed: 0, failed: 1, failures: [`${name} in ${kind}: ${error?.stack ?? error}`], names: [] };
    }
    report(`${kind} ${name}`, results);
  }
}
writeFileSync(join(work, "report.json"), JSON.stringify({ seed: initialSeed, cycles, table }, null, 2));
server.close();
process.exit(exitCode("faults"));
