#!/usr/bin/env bash
# Runs the service on a fresh machine: installs dependencies, builds, starts a local ClickHouse when
# CLICKHOUSE_URL is unset (installing Debian's clickhouse-server if it may), seeds a demo login and
# prints it with a ready-to-paste MCP client config. Ctrl-C stops the app and that ClickHouse.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f .env ]; then set -a; . ./.env; set +a; fi

if ! command -v node >/dev/null 2>&1; then
  echo "Node.js 20+ is required: https://nodejs.org or 'apt-get install nodejs npm'" >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> Installing npm dependencies"
  npm ci --no-audit --no-fund
fi

echo "==> Building"
npm run --silent build

if [ -z "${CLICKHOUSE_URL:-}" ]; then
  bash scripts/ensure-clickhouse.sh
fi

exec node scripts/serve.mjs
