#!/usr/bin/env bash
# `npm run soak -- [--minutes N | --seconds N] [--seed S] [--browsers chromium,firefox,webkit]`:
# set up, build the package, run the history-checked soak (tests/soak/) in real browsers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
WEB_ATTACHMENTS_SET_UP=1 bash scripts/build.sh
exec xvfb-run -a node tests/soak/run.mjs "$@"
