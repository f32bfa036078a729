#!/usr/bin/env bash
# Builds the npm package into dist/: the wasm (release, size-optimised), its wasm-bindgen glue
# (--target web) and the hand-written entries, errors and types.
#   scripts/build.sh            -> dist/
#   scripts/build.sh --testing  -> target/dist-testing/ (the same, plus test-only exports)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[ "${WEB_ATTACHMENTS_SET_UP:-}" = 1 ] || bash scripts/setup.sh

out=dist features=js target_dir=target
if [ "${1:-}" = --testing ]; then
  # A separate target dir keeps the two builds from overwriting each other's wasm.
  out=target/dist-testing features=js,testing target_dir=target/testing
fi

cargo build --release --target wasm32-unknown-unknown --features "$features" --lib --target-dir "$target_dir"
rm -rf "$out"
mkdir -p "$out/wasm"
wasm-bindgen --target web --no-typescript --out-dir "$out/wasm" --out-name web_attachments \
  "$target_dir/wasm32-unknown-unknown/release/web_attachments.wasm"
# Lean wasm: binaryen's size optimiser (npm `binaryen`, a recent one: Debian's 108 breaks
# wasm-bindgen's externref table) also drops the name section. Only the features rustc's output
# already uses: anything more (e.g. typed function references) would not load in today's engines.
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-reference-types --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-multivalue \
  "$out/wasm/web_attachments_bg.wasm" -o "$out/wasm/web_attachments_bg.wasm"
node -e 'new WebAssembly.Module(require("fs").readFileSync(process.argv[1]))' "$out/wasm/web_attachments_bg.wasm" \
  || { echo "[build] the optimised wasm does not compile" >&2; exit 1; }
cp js/*.js js/index.d.ts "$out/"
# Service workers cannot await the .wasm at the top level: they get it embedded.
printf 'export const wasmBase64 = "%s";\n' "$(base64 -w0 "$out/wasm/web_attachments_bg.wasm")" \
  > "$out/wasm/web_attachments_bg.wasm.base64.js"
echo "[build] $out/ ready: $(du -sh "$out" | cut -f1)" >&2
