# Sourced by scripts/serve.sh and scripts/test.sh. The project runs and is tested on Node 24 LTS; a
# machine whose node is another line gets the official binary from the npm registry (package
# node-linux-<arch>, integrity checked by npm; it holds no npm, so the machine's npm is used), kept in
# .tools/ (git-ignored) so later runs reuse it. It goes first on PATH, so npm (`#!/usr/bin/env node`),
# npx, jest and every process they start run on it.
NODE24_VERSION=24.22.3

use_node24() {
  local machine major
  machine=$(node --version 2>/dev/null || true)
  major=${machine#v}
  major=${major%%.*}
  if [ "$major" = 24 ]; then return 0; fi
  local dir
  dir="$(pwd)/.tools/node-v$NODE24_VERSION"
  [ -x "$dir/bin/node" ] || fetch_node24 "$dir" "${machine:-missing}" || return 1
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$NODE24_VERSION" ]; then
    echo "$dir/bin/node does not run; delete $dir to fetch it again" >&2
    return 1
  fi
  export PATH="$dir/bin:$PATH"
  echo "==> Using Node v$NODE24_VERSION from .tools/ (this machine's node is ${machine:-missing})"
}

# npm pack does not run the package's scripts; only bin/node is unpacked, into a temporary folder first
# so that an interrupted download is not taken for a cached one.
fetch_node24() {
  local dir=$1 machine=$2 platform
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) platform=linux-x64 ;;
    Linux-aarch64) platform=linux-arm64 ;;
    *) echo "Node 24 is required (this machine's is $machine): https://nodejs.org" >&2; return 1 ;;
  esac
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm is required to fetch Node 24 (or install Node 24 itself: https://nodejs.org)" >&2
    return 1
  fi
  echo "==> Fetching Node v$NODE24_VERSION (npm package node-$platform, about 50 MB) into .tools/"
  local partial tarball
  mkdir -p "$(dirname "$dir")"
  partial=$(mktemp -d "$dir.partial.XXXXXX")
  chmod 755 "$partial"
  if tarball=$(npm pack --silent --pack-destination "$partial" "node-$platform@$NODE24_VERSION") \
    && tar -xzf "$partial/$tarball" -C "$partial" --strip-components=1 package/bin/node; then
    rm -f "$partial/$tarball"
    mv -T "$partial" "$dir" 2>/dev/null || rm -rf "$partial" # another run finished first: keep its copy
    return 0
  fi
  rm -rf "$partial"
  echo "could not fetch Node v$NODE24_VERSION from the npm registry; install Node 24 (https://nodejs.org)" >&2
  return 1
}

# `npm ci` when node_modules is missing or older than package-lock.json.
ensure_npm_dependencies() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "==> Installing npm dependencies"
    npm ci --no-audit --no-fund
  fi
}
