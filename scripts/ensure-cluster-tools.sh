#!/usr/bin/env bash
# Makes sure ZooKeeper and HAProxy are on this machine for the cluster tests (Debian's `zookeeper`,
# with its Java, and `haproxy`), installing them when allowed. Without them, those tests say so
# and are skipped.
set -uo pipefail
if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1 && command -v haproxy >/dev/null 2>&1; then
  exit 0
fi
source "$(dirname "$0")/lib/apt-install.sh"
apt_install zookeeper haproxy || echo "zookeeper or haproxy could not be installed; the cluster tests will be skipped" >&2
exit 0
