// Debian's Chromium under Playwright, launched the one way every Node-side test wants it, and
// watched: should the browser die mid-run, the last of its own output and the machine's free
// memory are printed, so a crash in CI says why instead of only "Target closed".
import { freemem, totalmem } from "node:os";
import { chromium } from "playwright-core";

export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** Launches Chromium; `label` names it in the crash report. */
export async function launchChromium(label, options = {}) {
  const output = [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    ...options,
    logger: {
      isEnabled: (name) => name === "browser",
      log: (_name, _severity, message) => void (output.push(String(message)), output.length > 40 && output.shift()),
    },
  });
  let closing = false;
  const close = browser.close.bind(browser);
  browser.close = () => ((closing = true), close());
  browser.on("disconnected", () => {
    if (closing) return;
    const mib = (bytes) => Math.round(bytes / 2 ** 20);
    console.log(`  [${label}: Chromium exited unexpectedly; ${mib(freemem())} of ${mib(totalmem())} MiB free; its last output:]`);
    for (const line of output.slice(-20)) console.log(`    ${line}`);
  });
  return browser;
}
