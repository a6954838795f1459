#!/usr/bin/env bash
# The README's test command, which .ci/run calls. On a bare machine it first brings what the tests need:
# Node 24, a ClickHouse server (unless CLICKHOUSE_URL is set), passlib, the Claude Code CLI, Chromium,
# ZooKeeper, HAProxy and Redis, then `npm ci` when node_modules is missing or stale. Then it lints and
# runs every test; a test whose tool is still missing fails instead of being skipped
# (REQUIRE_ALL_TEST_TOOLS=1). Exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/node24.sh

use_node24 || exit 1
echo "==> Testing on Node $(node --version)"
if [ -z "${CLICKHOUSE_URL:-}" ]; then
  bash scripts/ensure-clickhouse.sh || exit 1
fi
bash scripts/ensure-passlib.sh
bash scripts/ensure-claude-code.sh
bash scripts/ensure-chromium.sh
bash scripts/ensure-cluster-tools.sh
ensure_npm_dependencies || exit 1

# Lint runs beside the tests (their first minute is mostly the build and ClickHouse starting), its
# output shown once they end.
mkdir -p .reports
npm run lint > .reports/lint.log 2>&1 &
lint_pid=$!
REQUIRE_ALL_TEST_TOOLS=1 npm test
tests=$?
wait "$lint_pid"
lint=$?
cat .reports/lint.log
if [ "$lint" -ne 0 ]; then echo "lint failed"; fi
[ "$lint" -eq 0 ] && [ "$tests" -eq 0 ]
