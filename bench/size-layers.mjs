// Where the browser package's bytes go, by layer: the wasm as cargo builds it for the package
// (scripts/build.sh), through wasm-bindgen with its names kept, read by twiggy (`cargo install
// twiggy`). Each function counts for the first of this crate's modules its name mentions, so code
// generic over our types (drop glue, iterators, hash tables) counts for the layer it serves. The
// shares are of the code before wasm-opt; the last column applies them to the shipped gzipped wasm.
//   bash scripts/build.sh && node bench/size-layers.mjs
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { browserPackageSize } from "../scripts/package-size.mjs";

const root = resolve(import.meta.dirname, "..");
const work = mkdtempSync(join(tmpdir(), "size-layers-"));
execFileSync("wasm-bindgen", ["--target", "web", "--no-typescript", "--keep-debug", "--out-dir", work, "--out-name", "w", join(root, "target/package/wasm32-unknown-unknown/release/web_attachments.wasm")]);
const csv = execFileSync("twiggy", ["top", "-n", "1000000", "-f", "csv", join(work, "w_bg.wasm")], { maxBuffer: 64 << 20 }).toString();
rmSync(work, { recursive: true, force: true });

const STORE = "the store layer (sessions, sweep, verify, bodies, records)";
const MODULES = { js: "js: the JavaScript API (conversion, classes, serving, streams)", indexeddb: "indexeddb: the IndexedDB backend", core: "core: ids, media types, rules", memory: "memory: the in-memory backend" };
function layer(name) {
  if (name.includes("subsection") || name.startsWith("custom section")) return null;
  if (name.startsWith("data segment")) return "data (strings, tables)";
  const plain = name.replace(/\[[0-9a-f]{16}\]/g, "");
  const ours = /web_attachments::([a-z_]+)/.exec(plain);
  if (ours) return MODULES[ours[1]] ?? STORE;
  const crate = /^<?&?(?:mut )?(?:dyn )?([A-Za-z_][A-Za-z0-9_]*)/.exec(plain)?.[1] ?? "";
  if (["sha2", "digest", "block_buffer", "generic_array", "crypto_common"].includes(crate)) return "sha2";
  if (["core", "alloc", "std", "compiler_builtins", "dlmalloc", "hashbrown"].includes(crate)) return "Rust std (not generic over our types)";
  if (["wasm_bindgen", "js_sys", "web_sys", "wasm_bindgen_futures"].includes(crate) || crate.startsWith("futures") || crate === "async_trait") return "wasm-bindgen, js-sys, web-sys, futures";
  return "exports, imports and wasm structure";
}

const sizes = new Map();
let total = 0;
for (const line of csv.trim().split("\n").slice(1)) {
  // Name,ShallowSize,...: the name may be quoted and hold commas.
  const match = /^("(?:[^"]|"")*"|[^,]*),(\d+),/.exec(line);
  if (!match) continue;
  const name = match[1].startsWith('"') ? match[1].slice(1, -1).replace(/""/g, '"') : match[1];
  const kind = layer(name);
  if (!kind) continue;
  sizes.set(kind, (sizes.get(kind) ?? 0) + Number(match[2]));
  total += Number(match[2]);
}
const shipped = browserPackageSize(join(root, "dist"));
const kib = (bytes) => (bytes / 1024).toFixed(1);
console.log(`| layer | KiB before wasm-opt | share | of the shipped ${kib(shipped.wasmGzipBytes)} KiB gzipped wasm |`);
console.log("|---|---:|---:|---:|");
for (const [kind, bytes] of [...sizes].sort((a, b) => b[1] - a[1])) console.log(`| ${kind} | ${kib(bytes)} | ${Math.round((bytes / total) * 100)}% | ${kib((bytes / total) * shipped.wasmGzipBytes)} |`);
console.log(`| the JS (entry, API, errors, glue) | | | ${kib(shipped.jsGzipBytes)} |`);
console.log(`total: ${kib(shipped.wasmGzipBytes + shipped.jsGzipBytes)} KiB gzipped`);
