export function pollUntil<T>(read: () => T | Promise<T>, isDone: (value: T) => boolean, options: { timeoutMs: number; intervalMs: number }): Promise<T>;
