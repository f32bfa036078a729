// Drives the www/ demo like a person: adds an image and a text file, commits, abandons a draft in
// another session, sweeps it away, reloads, goes offline; saves a screenshot for people to look at.
import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { deflateSync } from "node:zlib";
import { collector, expect } from "../support/results.mjs";

export const SCREENSHOT = resolve(import.meta.dirname, "../../target/screenshots/demo.png");

/** A real PNG (a colour gradient), so the demo has a genuine thumbnail to show. */
function gradientPng(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes) => (bytes.reduce((c, b) => crcTable[(c ^ b) & 255] ^ (c >>> 8), 0xffffffff) ^ 0xffffffff) >>> 0;
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) rows.push(255 - (y * 200) / height, 80 + (x * 120) / width, 60 + (y * 180) / height);
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", header), chunk("IDAT", deflateSync(Buffer.from(rows))), chunk("IEND", Buffer.alloc(0))]);
}

/** Waits in the page are bounded, so that a stall fails its check by name. */
const swReady = () => Promise.race([navigator.serviceWorker.ready, new Promise((_, reject) => setTimeout(() => reject(new Error("the service worker was not ready within 20 s")), 20_000))]);

export async function driveDemo(browser, origin) {
  const { results, check } = collector();
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  const page = await context.newPage();
  const cards = page.locator(".card");
  const waitReady = () => page.waitForFunction(() => document.querySelector("#status")?.textContent.startsWith("ready"), null, { timeout: 30_000 });
  const waitCount = (n) => page.waitForFunction((n) => document.querySelectorAll(".card").length === n, n, { timeout: 30_000 });

  await check("the demo loads and is ready", async () => {
    await page.goto(`${origin}/demo/`);
    await waitReady();
  });
  await check("adding an image and a text file shows them pending, with a thumbnail", async () => {
    await page.setInputFiles("#file-input", [
      { name: "sunset.png", mimeType: "image/png", buffer: gradientPng(160, 100) },
      { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("Agent notes: the user likes sunsets.\n") },
    ]);
    await waitCount(2);
    expect((await page.locator(".tag.pending").count()) === 2, "two pending tags");
    await page.waitForFunction(() => document.querySelector(".thumb img")?.naturalWidth === 160, null, { timeout: 10_000 });
    expect((await page.locator(".card", { hasText: "sunset.png" }).textContent()).includes("160×100"), "image dimensions shown");
  });
  await check("a re-render while someone types in a note (the service worker taking over) keeps the focus and every keystroke", async () => {
    const note = page.locator('.session[data-session="conversation-1"] .note');
    await note.click();
    await page.keyboard.type("sunset");
    // What the page does when its service worker takes control, at whatever moment that comes.
    await page.evaluate(() => {
      document.querySelector('.session[data-session="conversation-1"]').dataset.before = "";
      navigator.serviceWorker.dispatchEvent(new Event("controllerchange"));
    });
    await page.waitForFunction(() => !("before" in document.querySelector('.session[data-session="conversation-1"]').dataset), null, { timeout: 10_000 });
    await page.keyboard.type(" ideas");
    expect((await note.inputValue()) === "sunset ideas", `the note holds every keystroke: ${await note.inputValue()}`);
  });
  await check("commit marks the session's attachments committed and saves its note as the session's state", async () => {
    await page.fill('.session[data-session="conversation-1"] .note', "sunset ideas");
    await page.click('.session[data-session="conversation-1"] .commit');
    await page.waitForFunction(() => document.querySelectorAll(".tag.committed").length === 2, null, { timeout: 10_000 });
    const saved = await page.locator('.session[data-session="conversation-1"] .saved').textContent();
    expect(saved.includes("2 attachments") && saved.includes("sunset ideas"), `state shown: ${saved}`);
  });
  await check("a sweep with no grace period reclaims an abandoned draft and keeps committed work", async () => {
    await page.fill("#new-session-name", "abandoned-draft");
    await page.click("#new-session");
    await page.setInputFiles("#file-input", [{ name: "draft.txt", mimeType: "text/plain", buffer: Buffer.from("never committed") }]);
    await waitCount(3);
    const draftTags = await page.locator(".card", { hasText: "draft.txt" }).locator(".tag").allTextContents();
    expect(draftTags.join() === "abandoned-draft: pending", `the draft belongs to the selected session, got ${draftTags}`);
    await page.fill("#grace", "0");
    await page.click("#run-sweep");
    await page.waitForFunction(() => document.querySelector("#sweep-report").textContent.includes("deleted 1 attachments"), null, { timeout: 10_000 });
    await waitCount(2);
    expect((await page.locator("#sweep-progress").getAttribute("max")) !== null, "progress bar present");
  });
  mkdirSync(join(SCREENSHOT, ".."), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await check("everything survives a reload, the conversation's state included", async () => {
    await page.reload();
    await waitReady();
    await waitCount(2);
    expect((await page.locator(".tag.committed").count()) === 2, "still committed");
    expect((await page.locator('.session[data-session="conversation-1"] .note').inputValue()) === "sunset ideas", "the note came back from sessionState");
  });
  await check("deleting a conversation releases it: a later sweep reclaims its attachments", async () => {
    await page.fill("#new-session-name", "short-lived");
    await page.click("#new-session");
    await page.setInputFiles("#file-input", [{ name: "brief.txt", mimeType: "text/plain", buffer: Buffer.from("committed, then the conversation was deleted") }]);
    await waitCount(3);
    await page.click('.session[data-session="short-lived"] .commit');
    await page.waitForFunction(() => document.querySelector('.session[data-session="short-lived"] .saved')?.textContent.includes("1 attachment"), null, { timeout: 10_000 });
    await page.click('.session[data-session="short-lived"] .release');
    await page.waitForFunction(() => !document.querySelector('.session[data-session="short-lived"]'), null, { timeout: 10_000 });
    await page.fill("#grace", "0");
    await page.click("#run-sweep");
    await page.waitForFunction(() => document.querySelector("#sweep-report").textContent.includes("deleted 1 attachments"), null, { timeout: 10_000 });
    await waitCount(2);
  });
  await check("its service worker serves attachments from the store: an image, ranges, a PDF, a video that seeks", async () => {
    await page.evaluate(swReady);
    await page.reload(); // controlled now: thumbnails and the viewer load attachments/<id>
    await waitReady();
    await page.waitForFunction(() => document.querySelector(".thumb img")?.getAttribute("src")?.startsWith("./attachments/") && document.querySelector(".thumb img").naturalWidth === 160, null, { timeout: 15_000 });
    // A short real video (recorded once by MediaRecorder in Chromium: tests/fixtures/clip.webm) and a PDF, added like any file.
    const video = readFileSync(resolve(import.meta.dirname, "../fixtures/clip.webm"));
    const pdf = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n");
    await page.setInputFiles("#file-input", [
      { name: "clip.webm", mimeType: "video/webm", buffer: video },
      { name: "paper.pdf", mimeType: "application/pdf", buffer: pdf },
    ]);
    await waitCount(4);
    const served = await page.evaluate(async () => {
      const id = document.querySelector('.card[data-id] .id').title;
      const range = await fetch(`./attachments/${id}`, { headers: { range: "bytes=0-9" } });
      return { status: range.status, length: (await range.arrayBuffer()).byteLength, contentRange: range.headers.get("content-range") };
    });
    expect(served.status === 206 && served.length === 10 && /^bytes 0-9\//.test(served.contentRange), `range through the service worker: ${JSON.stringify(served)}`);
    await page.locator(".card", { hasText: "paper.pdf" }).locator("button.open").click();
    const frame = await page.locator("#viewer-body iframe").getAttribute("src");
    const pdfType = await page.evaluate((src) => fetch(src).then((r) => `${r.status} ${r.headers.get("content-type")}`), frame);
    expect(frame.startsWith("./attachments/") && pdfType === "200 application/pdf", `the PDF frame: ${frame} ${pdfType}`);
    await page.locator(".card", { hasText: "clip.webm" }).locator("button.open").click();
    const seeked = await page.evaluate(async () => {
      const element = document.querySelector("#viewer-body video");
      element.muted = true;
      const within = (what, promise) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within 20 s`)), 20_000))]);
      // It may have loaded already (the viewer starts it): then `loadeddata` has fired.
      if (element.readyState < 2) await within("loadeddata", new Promise((ok, ko) => ((element.onloadeddata = ok), (element.onerror = () => ko(new Error(`video error ${element.error?.code}`))))));
      await within("play", element.play());
      element.currentTime = 1;
      await within("seeked", new Promise((ok) => (element.onseeked = ok)));
      return { src: element.getAttribute("src"), time: element.currentTime, ready: element.readyState };
    });
    expect(seeked.src.startsWith("./attachments/") && seeked.time >= 0.9 && seeked.ready >= 2, `the video: ${JSON.stringify(seeked)}`);
  });
  await check("the demo works offline once loaded", async () => {
    await page.evaluate(swReady);
    await page.reload(); // now controlled by the service worker, which has cached the files
    await waitReady();
    await context.setOffline(true);
    await page.reload();
    await waitReady();
    await waitCount(4);
    await page.waitForFunction(() => document.querySelector(".thumb img")?.naturalWidth === 160, null, { timeout: 15_000 });
    await context.setOffline(false);
  });
  await context.close();
  results.names.push(`screenshot: ${SCREENSHOT}`);
  return results;
}
