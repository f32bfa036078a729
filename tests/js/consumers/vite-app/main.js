// A Vite-built app: the package imported by name, no init call.
import { IndexedDbAttachmentStore, contentId } from "web-attachments";

const bytes = new TextEncoder().encode("bundled by vite");
const store = await IndexedDbAttachmentStore.open("vite-consumer");
const ref = await store.put(bytes, { mediaType: "text/plain" });
const back = await store.get(ref.id);
const ok = ref.id === contentId(bytes) && new TextDecoder().decode(back.bytes) === "bundled by vite";
window.__results = { passed: ok ? 1 : 0, failed: ok ? 0 : 1, failures: ok ? [] : ["vite app round-trip failed"], names: [`${ok ? "ok" : "FAIL"} put/get from a Vite build`] };
