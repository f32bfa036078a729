#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: everything `npm test` and `npm start` need.
# Each step checks first, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# The wasm-bindgen CLI must equal the crate version exactly (the pin lives in Cargo.toml).
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[ -n "$WASM_BINDGEN_VERSION" ] || { log "cannot read the wasm-bindgen pin from Cargo.toml"; exit 1; }

# The pinned nightly the npm package's wasm is built with (see Cargo.toml), with the standard
# library's source (rebuilt for size).
PACKAGE_TOOLCHAIN=$(sed -n 's/^package-toolchain = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$PACKAGE_TOOLCHAIN" ] || { log "cannot read package-toolchain from Cargo.toml"; exit 1; }

export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! rustup component list --toolchain "$PACKAGE_TOOLCHAIN" --installed 2>/dev/null | grep -qx rust-src; then
  log "installing the $PACKAGE_TOOLCHAIN toolchain (builds the package's wasm)"
  rustup toolchain install "$PACKAGE_TOOLCHAIN" --profile minimal --component rust-src
fi

apt_needed=()
command -v chromium >/dev/null || apt_needed+=(chromium)
command -v chromedriver >/dev/null || apt_needed+=(chromium-driver)
command -v firefox-esr >/dev/null || command -v firefox >/dev/null || apt_needed+=(firefox-esr)
[ -x /usr/bin/WebKitWebDriver ] || apt_needed+=(webkit2gtk-driver)
command -v xvfb-run >/dev/null || apt_needed+=(xvfb)
command -v xauth >/dev/null || apt_needed+=(xauth)
# The fault lab's WebKit: WebKitGTK driven from Python (tests/faults/webkit.py).
/usr/bin/python3 -c "import gi; gi.require_version('WebKit2', '4.1')" 2>/dev/null || apt_needed+=(python3-gi gir1.2-webkit2-4.1)
if [ ${#apt_needed[@]} -gt 0 ]; then
  log "installing ${apt_needed[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${apt_needed[@]}" >/dev/null
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes)"
  cargo install -q wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --force
fi

if ! command -v geckodriver >/dev/null; then
  log "installing geckodriver (cargo)"
  cargo install -q geckodriver
fi

# npm packages: install when node_modules is missing or older than the manifest or lock file.
if grep -q '"\(dev\)\?[dD]ependencies"' package.json; then
  stamp=node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
    log "installing npm packages"
    if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  fi
fi
log "ready"
