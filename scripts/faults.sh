#!/usr/bin/env bash
# `npm run faults -- [--cycles N] [--only quota,disk,crash,corruption] [--browsers chromium,firefox] [--seed S]`:
# set up, build the package, run the fault lab (tests/faults/) against real engines on profiles
# of its own. `npm test` runs it with 5 crash cycles per engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
WEB_ATTACHMENTS_SET_UP=1 bash scripts/build.sh
exec node tests/faults/run.mjs "$@"
