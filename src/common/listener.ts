import type { IncomingMessage } from 'node:http';

/** Which of the two listeners a request arrived on. */
export type Listener = 'rest' | 'mcp';

const LISTENER = Symbol('listener');

type TaggedRequest = IncomingMessage & { [LISTENER]?: Listener };

export function tagListener(req: IncomingMessage, listener: Listener): void {
  (req as TaggedRequest)[LISTENER] = listener;
}

export function listenerOf(req: IncomingMessage): Listener {
  return (req as TaggedRequest)[LISTENER] ?? 'rest';
}

/** The only path the MCP listener serves; everything else belongs to the REST listener. */
export const MCP_PATH = '/messages';

export function belongsTo(path: string): Listener {
  return path === MCP_PATH || path.startsWith(`${MCP_PATH}/`) || path.startsWith(`${MCP_PATH}?`) ? 'mcp' : 'rest';
}
