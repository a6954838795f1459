/**
 * Resolves once `isReady()` says the server a child process started answers; throws when the child
 * exits first, or when `timeoutMs` passes (naming `name` either way).
 */
export async function waitUntilServing(child, isReady, { name, timeoutMs, intervalMs = 50 }) {
  const deadline = Date.now() + timeoutMs;
  while (!(await isReady())) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${name} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
