#!/usr/bin/env bash
# npm run bench: on Node 24, the runtime the service is run and tested on (brought into .tools/ when
# the machine's node is older), so the figures are the ones users get.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node24.sh
use_node24 || exit 1
exec node bench/run.mjs "$@"
