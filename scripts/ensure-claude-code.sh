#!/usr/bin/env bash
# Fetches the real Claude Code CLI (Anthropic's prebuilt linux-x64 binary, npm's integrity check
# included) into .data/claude-code/<version>/claude for test/claude-code.e2e-spec.ts, which runs
# `claude mcp list` against the service. Elsewhere, or offline, the test cannot run: a plain `npm test`
# skips it and says why, scripts/test.sh fails it after running the rest (test/support/required-tools.ts).
# No model key is needed: `mcp list` only health-checks.
set -uo pipefail
cd "$(dirname "$0")/.."
VERSION=2.1.332
DEST=.data/claude-code/$VERSION
if [ -x "$DEST/claude" ]; then exit 0; fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "==> Claude Code CLI: no prebuilt binary fetched for $(uname -s)-$(uname -m); its test cannot run"
  exit 0
fi
echo "==> Fetching the Claude Code CLI $VERSION (about 190 MB, for the Claude Code test)"
mkdir -p "$DEST"
if tarball=$(npm pack --silent --pack-destination "$DEST" "@anthropic-ai/claude-code-linux-x64@$VERSION" 2>/dev/null) \
  && tar -xzf "$DEST/$tarball" -C "$DEST" --strip-components=1 package/claude; then
  rm -f "$DEST/$tarball"
else
  echo "    could not fetch it; the Claude Code test cannot run"
  rm -rf "$DEST"
fi
exit 0
