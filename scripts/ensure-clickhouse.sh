#!/usr/bin/env bash
# Makes sure a clickhouse-server binary is on this machine, installing Debian's package when allowed.
set -euo pipefail
if command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || command -v clickhouse >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; then
  echo "==> Installing clickhouse-server (Debian package)"
  $SUDO apt-get update -qq
  # The package's own service is not started: the project runs a private server.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clickhouse-server >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
No ClickHouse server binary was found and it cannot be installed automatically here. Either:
  - install it:          sudo apt-get install -y clickhouse-server   (Debian/Ubuntu)
  - or run one yourself: docker compose -f docker/docker-compose.yml up -d clickhouse
                         then: CLICKHOUSE_URL=http://127.0.0.1:8123 ./scripts/serve.sh
MSG
exit 1
