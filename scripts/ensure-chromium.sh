#!/usr/bin/env bash
# Makes sure a Chromium is on this machine for the console's browser test (driven by playwright-core),
# installing Debian's package when allowed. Without one, a plain `npm test` skips that test and says so;
# scripts/test.sh fails it (test/support/required-tools.ts).
set -uo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "${CHROMIUM_PATH:-}" ]; then
  exit 0
fi
source "$(dirname "$0")/lib/apt-install.sh"
apt_install chromium || echo "chromium could not be installed; the console's browser test cannot run" >&2
exit 0
