// Waiting for something another process does in its own time (rows shipped, a log line written).

/**
 * Reads until `isDone(value)` or `timeoutMs` passes, `intervalMs` apart, and resolves with the
 * last value read: the caller asserts on it, so a timeout shows what was there instead.
 */
export async function pollUntil(read, isDone, { timeoutMs, intervalMs }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (isDone(value) || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
