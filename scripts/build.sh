#!/usr/bin/env bash
# Builds the npm package into dist/: the wasm (release, size-optimised), its wasm-bindgen glue
# (--target web, instantiated by dist/index.js) and the hand-written entry, errors and types.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
[ "${WEB_ATTACHMENTS_SET_UP:-}" = 1 ] || bash scripts/setup.sh

cargo build --release --target wasm32-unknown-unknown --features js --lib
rm -rf dist
mkdir -p dist/wasm
wasm-bindgen --target web --no-typescript --out-dir dist/wasm --out-name web_attachments \
  target/wasm32-unknown-unknown/release/web_attachments.wasm
cp js/index.js js/errors.js js/index.d.ts dist/
echo "[build] dist/ ready: $(du -sh dist | cut -f1)" >&2
