// A Vite-built app: the package imported by name, no init call, in the page and in a module worker.
import { IndexedDbAttachmentStore, contentId } from "web-attachments";

const bytes = new TextEncoder().encode("bundled by vite");
const store = await IndexedDbAttachmentStore.open("vite-consumer");
const ref = await store.put(bytes, { mediaType: "text/plain" });
const back = await store.get(ref.id);
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const inWorker = await new Promise((resolve) => {
  worker.onmessage = ({ data }) => (data === "listening" ? worker.postMessage({ id: ref.id }) : resolve(data));
  worker.onerror = (event) => resolve(`worker failed: ${event.message}`);
});
const results = { passed: 0, failed: 0, failures: [], names: [] };
for (const [name, ok] of [
  ["put/get from a Vite build", ref.id === contentId(bytes) && new TextDecoder().decode(back.bytes) === "bundled by vite"],
  ["a module worker of the Vite build reads it", inWorker === "bundled by vite"],
]) {
  results[ok ? "passed" : "failed"]++;
  results.names.push(`${ok ? "ok" : "FAIL"} ${name}`);
  if (!ok) results.failures.push(`${name} failed${name.includes("worker") ? `: ${inWorker}` : ""}`);
}
window.__results = results;
