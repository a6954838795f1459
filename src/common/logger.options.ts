import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a caller's X-Request-Id when it is sane, so one id follows a request across services. */
function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * One structured line per REST request; credentials are never written. The MCP port has no
 * per-request line (it is served outside Express): logging cost ~100 µs of a call's ~2 ms CPU
 * (bench/README.md), every tool call is a row of mcp_tool_usage_log already, and the MCP door
 * logs each refused request itself.
 */
export function createLoggerOptions(level: string): Params {
  return {
    pinoHttp: {
      level,
      genReqId: (req, res) => {
        const id = requestId(req);
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customProps: () => ({ listener: 'rest' }),
      serializers: {
        req: (req: { id: string; method: string; url: string; headers: Record<string, string> }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
          headers: { 'user-agent': req.headers['user-agent'], ...(req.headers.authorization ? { authorization: '[redacted]' } : {}) },
        }),
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    },
  };
}
