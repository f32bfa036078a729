#!/usr/bin/env bash
# `npm start`: set up, build the package, and serve the demo on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
WEB_ATTACHMENTS_SET_UP=1 bash scripts/build.sh
exec node scripts/serve.mjs --port "${PORT:-8080}" /=www /dist=dist
