#!/usr/bin/env bash
# Every test: native Rust (pure core, memory backend, property tests), the wasm suites in
# headless Chromium, Firefox and WebKit against real IndexedDB, then the npm package as a user
# installs it (contract, workers, reload, upgrade, Vite, esbuild, TypeScript, demo), the soak, the
# fault lab, a smoke run of the
# benchmark, and the edge runtimes (workerd with Durable Objects, Deno, Node). Set-up first
# (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh

# Every stage is bounded (CI stops at 90 minutes): one that hangs fails by name instead.
bounded() {
  local minutes=$1; shift
  timeout --kill-after=30 "${minutes}m" "$@" || {
    local status=$?
    [ "$status" -eq 124 ] && echo "!! timed out after $minutes minutes: $*"
    return "$status"
  }
}

echo "== native: cargo test"
bounded 15 cargo test --all-features

# One browser at a time: wasm-bindgen-test-runner picks the driver from these variables.
export WASM_BINDGEN_TEST_TIMEOUT=300
run_browser() {
  local label=$1; shift
  echo "== wasm in $label"
  bounded 12 env -u CHROMEDRIVER -u GECKODRIVER -u SAFARIDRIVER "$@" \
    cargo test --target wasm32-unknown-unknown --features testing --lib --test browser
}
run_browser Chromium CHROMEDRIVER=/usr/bin/chromedriver
run_browser Firefox GECKODRIVER="$(command -v geckodriver)"
run_browser WebKit SAFARIDRIVER=/usr/bin/WebKitWebDriver xvfb-run -a
echo "== npm package: build, pack, and test as installed (Chromium, Firefox, WebKit)"
WEB_ATTACHMENTS_SET_UP=1 bash scripts/build.sh
bounded 20 xvfb-run -a node tests/js/run.mjs
echo "== soak: two pages and a worker per engine, a seeded mix for 45 s, checked against the history (longer: npm run soak)"
bounded 8 xvfb-run -a node tests/soak/run.mjs --seconds 45
echo "== faults: a quota, a full disk, kill -9 mid-workload (5 cycles), a lost storage process, damaged files, in Chromium, Firefox and WebKit (more: npm run faults -- --cycles N)"
bounded 15 node tests/faults/run.mjs --cycles 5
echo "== benchmark: a smoke run at 2% scale, the scale bench at 100 and 200 attachments (every system and workload works; figures not for quoting)"
bounded 10 node bench/run.mjs --rounds 1 --scale 0.02
echo "== A/B tool: one sample of the package against itself, with the minimal wasm get (works; figures not for quoting)"
bounded 5 node bench/ab.mjs dist dist --samples 1 --minimal
echo "== edge runtimes: workerd (Durable Objects), Deno, Node"
WEB_ATTACHMENTS_SET_UP=1 bash scripts/build.sh --testing
bounded 15 node tests/edge/run.mjs
echo "== all suites passed"
