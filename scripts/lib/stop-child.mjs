/**
 * Stops a server the tests or the launcher started: `signal`, then SIGKILL if it has not exited
 * within 10 s; resolves once it has exited (at once when it already had).
 */
export function stopChild(child, signal = 'SIGTERM') {
  return new Promise((resolveStop) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill(signal);
  });
}
