// Debian's chromium (scripts/ensure-chromium.sh installs it), or CHROMIUM_PATH, driven by
// playwright-core: the console's browser test and its render bench use it.
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

/** The Chromium executable, or undefined when this machine has none. */
export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (found) return found;
    } catch {
      // not this one
    }
  }
  return undefined;
}

export function launchChromium(executablePath) {
  // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
