import type { Logger } from '@nestjs/common';

const MAX_REMEMBERED = 1000;
const logged = new Set<string>();

/**
 * Logs an error the first time its key is seen in this process. A schema problem (a missing
 * column) fails every request that touches it; one log line says what to fix, a thousand bury it.
 */
export function logOnce(logger: Logger, key: string, context: Record<string, unknown>, message: string): void {
  if (logged.has(key)) return;
  if (logged.size >= MAX_REMEMBERED) logged.clear();
  logged.add(key);
  logger.error(context, message);
}
