#!/usr/bin/env bash
# Makes sure ZooKeeper is on this machine for the cluster test (Debian's `zookeeper`, with its Java),
# installing the package when allowed. Without it, that test says so and is skipped.
set -uo pipefail
if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; then
  exit 0
fi
source "$(dirname "$0")/lib/apt-install.sh"
apt_install zookeeper || echo "zookeeper could not be installed; the cluster test will be skipped" >&2
exit 0
