// Browsers on a profile directory of the fault lab's own, with their pids, so that a test can
// kill one (`kill -9`) and relaunch it on the same profile: Chromium launched by hand and driven
// over CDP (Playwright's own launch hides the pid and, by default, keeps storage in memory),
// Firefox through geckodriver with `-profile`.
import { spawn, execFileSync } from "node:child_process";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "../js/chromium.mjs";
import { openWebDriver } from "../js/webdriver.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Chromium on `profile`: `{ goto, evaluate, cdp, kill, close, pid }`. The browser binary itself,
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
    goto: (url) => page.goto(url),
    evaluate: (script) => page.evaluate(script),
    cdp: () => context.newCDPSession(page),
    async kill() {
      process.kill(-child.pid, "SIGKILL");
      await exited;
      await browser.close().catch(() => {});
    },
    async close() {
      await browser.close().catch(() => {});
      process.kill(-child.pid, "SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null) (process.kill(-child.pid, "SIGKILL"), await exited);
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
