import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { writeMcpError } from '../common/all-exceptions.filter.js';
import { MCP_PATH } from '../common/listener.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeyGuard, type McpRequest } from './api-key.guard.js';
import { McpGatewayService } from './mcp-gateway.service.js';

/** Failures shaped like Express body-parser's, so the shared error filter words them the same way. */
const bodyError = (type: 'entity.too.large' | 'entity.parse.failed', status: number, message: string, limit?: number) =>
  Object.assign(new Error(message), { type, status, limit });

/**
 * The MCP listener's hot path: a JSON POST to /messages is read, guarded and handed to the SDK
 * here, straight from node:http. Express's router, body parser and Nest's pipeline cost about a
 * tenth of a call's CPU (bench/README.md) and add nothing to this one route. Everything else on
 * the MCP port (other methods, other content types, other paths) still goes through Express and
 * McpGatewayController, with the same guard and the same error shapes.
 */
@Injectable()
export class McpHttpHandler {
  constructor(
    private readonly guard: ApiKeyGuard,
    private readonly gateway: McpGatewayService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** False when the request is not a JSON POST to /messages, for Express to serve instead. */
  takes(req: IncomingMessage): boolean {
    return req.method === 'POST' && req.url === MCP_PATH && (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
  }

  async handle(req: McpRequest, res: ServerResponse): Promise<void> {
    try {
      req.body = await this.readJson(req);
      await this.guard.authorize(req);
      await this.gateway.handle(req, res);
    } catch (error) {
      writeMcpError(req, res, error);
    }
  }

  private async readJson(req: IncomingMessage): Promise<unknown> {
    const text = await readBody(req, this.config.http.bodyLimitBytes);
    try {
      return JSON.parse(text);
    } catch (error) {
      throw bodyError('entity.parse.failed', HttpStatus.BAD_REQUEST, (error as Error).message);
    }
  }
}

/** The body as text, or 413 once it passes `limit` bytes (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => bodyError('entity.too.large', HttpStatus.PAYLOAD_TOO_LARGE, 'request entity too large', limit);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.resume();
      reject(tooLarge());
    };
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      req.resume();
      return reject(tooLarge());
    }
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}
