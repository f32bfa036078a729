// The few WebDriver calls the browser tests need, for Firefox (geckodriver) and WebKit
// (WebKitWebDriver): Playwright cannot drive Debian's builds of those two.
import { spawn } from "node:child_process";
import { createServer } from "node:net";

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const DRIVERS = {
  // `profile`: a profile directory used in place (it survives the browser, for crash and disk
  // tests); `prefs`: about:config preferences set before launch (a quota, say).
  firefox: (port, { profile, prefs } = {}) => ({
    command: process.env.GECKODRIVER || "geckodriver",
    args: ["--port", String(port)],
    capabilities: { alwaysMatch: { "moz:firefoxOptions": { args: ["-headless", ...(profile ? ["-profile", profile] : [])], ...(prefs ? { prefs } : {}) }, timeouts: { script: 600_000 } } },
  }),
  webkit: (port) => ({
    command: process.env.WEBKITDRIVER || "/usr/bin/WebKitWebDriver",
    args: [`--port=${port}`],
    capabilities: {},
  }),
};

/**
 * Starts the driver and a browser session; returns `{ goto, evaluate, call, close }`. `evaluate`
 * awaits a returned promise (WebDriver does), within the session's script timeout.
 */
export async function openWebDriver(kind, options) {
  const port = await freePort();
  const { command, args, capabilities } = DRIVERS[kind](port, options);
  const driver = spawn(command, args, { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, path, body) => {
    // Bounded, so a browser that died under its driver fails the run instead of stalling it.
    const signal = AbortSignal.timeout(300_000);
    const response = await fetch(base + path, { method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body), signal });
    const json = await response.json();
    if (!response.ok) throw new Error(`${kind} WebDriver ${method} ${path}: ${JSON.stringify(json.value ?? json)}`);
    return json.value;
  };
  for (let i = 0; ; i++) {
    try {
      if ((await call("GET", "/status")).ready !== false) break;
    } catch (error) {
      if (i > 100) throw new Error(`${kind} WebDriver did not start: ${error.message}`);
    }
    await sleep(100);
  }
  const { sessionId } = await call("POST", "/session", { capabilities });
  const session = `/session/${sessionId}`;
  return {
    goto: (url) => call("POST", `${session}/url`, { url }),
    evaluate: (script) => call("POST", `${session}/execute/sync`, { script: `return (${script})`, args: [] }),
    driver,
    async close() {
      await call("DELETE", session).catch(() => {});
      driver.kill();
    },
  };
}
