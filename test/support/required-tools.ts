/**
 * Some tests drive a tool npm does not install (Chromium, the Claude Code CLI, ZooKeeper, HAProxy,
 * Redis, passlib). scripts/test.sh installs them and sets REQUIRE_ALL_TEST_TOOLS=1 (as does CI=true):
 * there a missing tool fails a test that names it, so a run cannot pass while silently covering less.
 * A developer's plain `npm test` skips those tests instead, with a warning.
 */
const TOOLS_REQUIRED = process.env.REQUIRE_ALL_TEST_TOOLS === '1' || process.env.CI === 'true';

type Block<Body> = (name: string, body: Body) => void;

/** `tools` maps each tool's name to whether it is here; `howToInstall` tells the reader how to get them. */
function needing<Body>(tools: Record<string, boolean>, howToInstall: string, run: Block<Body>, skip: Block<Body>, failing: (error: Error) => Block<Body>): Block<Body> {
  const missing = Object.keys(tools).filter((tool) => !tools[tool]);
  if (missing.length === 0) return run;
  if (!TOOLS_REQUIRED) {
    console.warn(`Skipping tests that need ${missing.join(', ')} (${howToInstall})`);
    return skip;
  }
  return failing(new Error(`Missing ${missing.join(', ')} (${howToInstall}); with REQUIRE_ALL_TEST_TOOLS=1 or CI=true a missing tool fails its tests`));
}

/** `describe` when every tool is here; else skipped, or, when tools are required, one failing test. */
export function describeNeeding(tools: Record<string, boolean>, howToInstall: string): Block<() => void> {
  return needing(tools, howToInstall, describe, describe.skip, (error) => (name) => describe(name, () => {
    it('should find the tools it drives', () => { throw error; });
  }));
}

/** `it` when every tool is here; else skipped, or, when tools are required, failing. */
export function itNeeding(tools: Record<string, boolean>, howToInstall: string): Block<jest.ProvidesCallback> {
  return needing(tools, howToInstall, it, it.skip, (error) => (name) => it(name, () => { throw error; }));
}
