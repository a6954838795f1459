#!/usr/bin/env bash
# Runs the service on a fresh machine: brings Node 24 when this machine's node is another line, installs
# dependencies, builds, starts a local ClickHouse when CLICKHOUSE_URL is unset (installing Debian's
# clickhouse-server if it may), seeds a demo login and prints it with a ready-to-paste MCP client
# config. Ctrl-C stops the app and that ClickHouse.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f .env ]; then set -a; . ./.env; set +a; fi

source scripts/lib/node24.sh
use_node24
ensure_npm_dependencies

echo "==> Building"
npm run --silent build

if [ -z "${CLICKHOUSE_URL:-}" ]; then
  bash scripts/ensure-clickhouse.sh
fi

exec node scripts/serve.mjs
