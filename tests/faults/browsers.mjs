// Browsers on a profile directory of the fault lab's own, with their pids, so that a test can
// kill one (`kill -9`) and relaunch it on the same profile: Chromium launched by hand and driven
// over CDP (Playwright's own launch hides the pid and, by default, keeps storage in memory),
// Firefox through geckodriver with `-profile`.
import { spawn, execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "../js/chromium.mjs";
import { openWebDriver } from "../js/webdriver.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The live (not zombie) processes of process group `group`, from /proc. */
function liveInGroup(group) {
  const live = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      // Fields after the command's closing parenthesis: state, ppid, pgrp, ...
      const [state, , pgrp] = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop().split(" ");
      if (Number(pgrp) === group && state !== "Z") live.push(Number(pid));
    } catch {}
  }
  return live;
}

/**
 * Waits until every process of `group` is gone, killing what is left after 10 s: the group leader
 * exits first, and a relaunch while its storage process still holds the database's lock finds the
 * database unopenable ("Internal error opening backing store"), the harness's doing, not a crash's.
 */
async function groupGone(group) {
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 100 && liveInGroup(group).length; i++) await sleep(100);
    if (!liveInGroup(group).length) return;
    try {
      process.kill(-group, "SIGKILL");
    } catch {}
  }
  throw new Error(`processes ${liveInGroup(group).join(", ")} of the browser are still alive 20 s after it ended`);
}

/**
 * Chromium on `profile`: `{ goto, evaluate, cdp, kill, close, pid, version }`. The browser binary itself,
 * not Debian's `/usr/bin/chromium` wrapper script (a kill must reach the browser), in a process
 * group of its own, so that a kill takes its renderers and storage service with it.
 */
export async function chromiumOn(profile) {
  const binary = process.env.CHROMIUM_BINARY ?? "/usr/lib/chromium/chromium";
  const child = spawn(binary, [...CHROMIUM_ARGS, "--headless", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"], { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let output = "";
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${output.slice(-2000)}`)), 30_000);
    child.stderr.on("data", (data) => {
      output += data;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
      if (match) (clearTimeout(timer), resolve(match[1]));
    });
    child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`Chromium exited (${code}):\n${output.slice(-2000)}`))));
  });
  const browser = await chromium.connectOverCDP(endpoint);
  const context = browser.contexts()[0];
  const page = context.pages()[0] ?? (await context.newPage());
  const exited = new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
  return {
    kind: "chromium",
    pid: child.pid,
    version: browser.version(),
    goto: (url) => page.goto(url),
    evaluate: (script) => page.evaluate(script),
    cdp: () => context.newCDPSession(page),
    async kill() {
      process.kill(-child.pid, "SIGKILL");
      await exited;
      await groupGone(child.pid);
      await browser.close().catch(() => {});
    },
    async close() {
      await browser.close().catch(() => {});
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) (process.kill(-child.pid, "SIGKILL"), await exited);
      await groupGone(child.pid);
    },
  };
}

/** Firefox on `profile` (with `prefs`), through geckodriver: `{ goto, evaluate, kill, close, pid }`. */
export async function firefoxOn(profile, prefs) {
  const driver = await openWebDriver("firefox", { profile, prefs });
  // The browser geckodriver started on this profile (its pid is not reported otherwise).
  const pid = Number(execFileSync("pgrep", ["-n", "-f", "--", `-profile ${profile}`]).toString().trim());
  const gone = async () => {
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(100);
    }
  };
  return {
    kind: "firefox",
    pid,
    goto: driver.goto,
    evaluate: driver.evaluate,
    async kill() {
      process.kill(pid, "SIGKILL");
      await gone();
      driver.driver.kill("SIGKILL");
    },
    async close() {
      await driver.close();
      await gone();
    },
  };
}

/**
 * WebKitGTK on `profile` through tests/faults/webkit.py (WebKitWebDriver's sessions keep nothing on
 * disk): `{ goto, evaluate, kill, killNetworkProcess, close, pid }`.
 */
export async function webkitOn(profile) {
  const child = spawn("xvfb-run", ["-a", "/usr/bin/python3", new URL("./webkit.py", import.meta.url).pathname, profile], { stdio: ["pipe", "pipe", "pipe"], detached: true });
  let buffered = "";
  let stderr = "";
  const waiting = new Map();
  let ready;
  const started = new Promise((resolve, reject) => {
    ready = resolve;
    setTimeout(() => reject(new Error(`WebKit did not start:\n${stderr.slice(-2000)}`)), 30_000);
  });
  child.stderr.on("data", (data) => (stderr = (stderr + data).slice(-20_000)));
  child.stdout.on("data", (data) => {
    buffered += data;
    for (let at; (at = buffered.indexOf("\n")) >= 0; ) {
      const message = JSON.parse(buffered.slice(0, at));
      buffered = buffered.slice(at + 1);
      if (message.ready) ready(message.pid);
      const pending = waiting.get(message.id);
      if (pending) (waiting.delete(message.id), message.error ? pending.reject(new Error(message.error)) : pending.resolve(message.value));
    }
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  exited.then(() => {
    for (const pending of waiting.values()) pending.reject(new Error(`WebKit exited:\n${stderr.slice(-2000)}`));
    waiting.clear();
  });
  const pid = await started;
  let next = 0;
  const ask = (request, ms = 300_000) => new Promise((resolve, reject) => {
    const id = next++;
    const timer = setTimeout(() => (waiting.delete(id), reject(new Error(`WebKit did not answer within ${ms} ms`))), ms);
    waiting.set(id, { resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e)) });
    child.stdin.write(JSON.stringify({ id, ...request }) + "\n");
  });
  const networkProcess = () => Number(execFileSync("pgrep", ["-P", String(pid), "-f", "WebKitNetworkProcess"]).toString().trim().split("\n")[0]);
  return {
    kind: "webkit",
    pid,
    goto: (url) => ask({ goto: url }),
    evaluate: (expression) => ask({ eval: expression }),
    /** Kills the process that hosts IndexedDB, as a crash of it would: the page lives on. */
    killNetworkProcess: () => process.kill(networkProcess(), "SIGKILL"),
    async kill() {
      process.kill(-child.pid, "SIGKILL");
      await exited;
      await groupGone(child.pid);
    },
    async close() {
      child.stdin.end();
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) (process.kill(-child.pid, "SIGKILL"), await exited);
      await groupGone(child.pid);
    },
  };
}
