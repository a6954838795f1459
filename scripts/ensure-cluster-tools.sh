#!/usr/bin/env bash
# Makes sure ZooKeeper, HAProxy and Redis are on this machine for the cluster and shared-metering
# tests (Debian's `zookeeper`, with its Java, `haproxy` and `redis-server`), installing them when
# allowed. Without them, a plain `npm test` skips those tests and says so; scripts/test.sh fails them
# (test/support/required-tools.ts).
set -uo pipefail
if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1 && command -v haproxy >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
source "$(dirname "$0")/lib/apt-install.sh"
apt_install zookeeper haproxy redis-server || echo "zookeeper, haproxy or redis-server could not be installed; the tests that need them cannot run" >&2
exit 0
