#!/usr/bin/env bash
# `npm run bench`: set up, build the package, run the benchmark in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
WEB_ATTACHMENTS_SET_UP=1 bash scripts/build.sh
exec node bench/run.mjs "$@"
