// The history-checked soak in real browsers (tests/soak/soak.html in Chromium, Firefox, WebKit).
//   node tests/soak/run.mjs [--seconds N | --minutes N] [--seed S] [--browsers chromium,firefox,webkit]
// `npm test` runs it briefly; `npm run soak -- --minutes N --seed S` runs longer. The seed of a
// failing run is printed: the same seed replays the same calls (their interleaving is the
// machine's).
import { resolve } from "node:path";
import { launchChromium } from "../js/chromium.mjs";
import { serve } from "../../scripts/serve.mjs";
import { exitCode, report } from "../support/results.mjs";
import { openWebDriver } from "../js/webdriver.mjs";

const root = resolve(import.meta.dirname, "../..");
const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const ms = option("minutes") ? Number(option("minutes")) * 60_000 : Number(option("seconds") ?? 45) * 1000;
const seed = Number(option("seed") ?? Math.floor(Math.random() * 2 ** 31));
const browsers = (option("browsers") ?? "chromium,firefox,webkit").split(",");
if (!(ms > 0) || !Number.isInteger(seed)) throw new Error("usage: run.mjs [--seconds N | --minutes N] [--seed S] [--browsers a,b]");

const server = await serve({ mounts: { "/": resolve(root, "tests/soak"), "/dist": resolve(root, "dist") } });
const url = `http://127.0.0.1:${server.address().port}/soak.html?seed=${seed}&ms=${ms}`;
console.log(`soak: seed ${seed}, ${ms / 1000} s of calls per engine (replay: npm run soak -- --seconds ${ms / 1000} --seed ${seed})`);

async function collect(page) {
  await page.goto(url);
  const deadline = Date.now() + ms + 180_000;
  for (;;) {
    const results = await page.evaluate("window.__results ?? null");
    if (results) return results;
    if (Date.now() > deadline) return { passed: 0, failed: 1, failures: [`seed ${seed}: no results in time`], names: [] };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

for (const kind of browsers) {
  let results;
  if (kind === "chromium") {
    const browser = await launchChromium("soak");
    const page = await browser.newPage();
    results = await collect({ goto: (to) => page.goto(to), evaluate: (script) => page.evaluate(script) });
    await browser.close();
  } else {
    const driver = await openWebDriver(kind);
    try {
      results = await collect(driver);
    } finally {
      await driver.close();
    }
  }
  report(`${kind} soak`, results);
  if (results.failed) console.log(`  replay: npm run soak -- --seconds ${ms / 1000} --seed ${seed} --browsers ${kind}`);
}
server.close();
process.exit(exitCode("soak"));
