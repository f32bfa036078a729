// The size of what a browser loads from the package: the wasm and the JS of the default entry,
// gzipped at level 9 (as served). The benchmark reports it; the package tests hold it to
// SIZE_BUDGET_GZIP_BYTES.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * The budget `npm test` holds the browser package to. Issue 17 asks for 72 KiB; the package is
 * 184.4 KiB today (what each layer costs: bench/README.md), so this budget stops it from growing
 * while that target is out of reach. Lower it with every cut.
 */
export const SIZE_BUDGET_GZIP_BYTES = 185 * 1024;

const JS_FILES = ["index.js", "api.js", "errors.js", "wasm/web_attachments.js"];
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).length;

/** `{ wasmBytes, wasmGzipBytes, jsBytes, jsGzipBytes }` of the browser entry in `dist`. */
export function browserPackageSize(dist) {
  const wasm = readFileSync(join(dist, "wasm/web_attachments_bg.wasm"));
  const js = JS_FILES.map((file) => readFileSync(join(dist, file)));
  return {
    wasmBytes: wasm.length,
    wasmGzipBytes: gzip(wasm),
    jsBytes: js.reduce((sum, file) => sum + file.length, 0),
    jsGzipBytes: js.reduce((sum, file) => sum + gzip(file), 0),
  };
}
