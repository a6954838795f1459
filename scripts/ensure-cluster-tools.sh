#!/usr/bin/env bash
# Makes sure ZooKeeper is on this machine for the cluster test (Debian's `zookeeper`, with its Java),
# installing the package when allowed. Without it, that test says so and is skipped.
set -uo pipefail
if [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; fi
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }; then
  echo "==> Installing zookeeper (Debian package)"
  $SUDO apt-get update -qq
  # Its own service is not started: the test runs a private ZooKeeper.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq zookeeper >/dev/null || echo "zookeeper could not be installed; the cluster test will be skipped" >&2
fi
exit 0
