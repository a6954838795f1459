#!/usr/bin/env bash
# Installs Debian's python3-passlib and python3-bcrypt when they are missing and apt may be used:
# the drop-in tests ask passlib itself (the original service's hasher) to verify our bcrypt hashes.
# Without them a plain `npm test` skips those checks and scripts/test.sh fails them
# (test/support/required-tools.ts); a failure here does not stop the run, the test names what is missing.
set -uo pipefail
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import passlib.context, bcrypt' 2>/dev/null; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "==> Installing python3-passlib and python3-bcrypt (Debian packages, for the drop-in tests)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-passlib python3-bcrypt >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-passlib python3-bcrypt >/dev/null 2>&1; } \
    || echo "    could not install them; the passlib cross-checks cannot run"
fi
exit 0
