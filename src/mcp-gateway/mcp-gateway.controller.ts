import { All, Controller, HttpStatus, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { JsonRpcHttpException } from '../common/json-rpc-http.exception.js';
import { MCP_PATH } from '../common/listener.js';
import { ApiKeyGuard, type McpRequest } from './api-key.guard.js';
import { McpGatewayService } from './mcp-gateway.service.js';

/** The MCP endpoint on MCP_PORT (documented in the README, not in the REST OpenAPI document). */
@ApiExcludeController()
@Controller(MCP_PATH.slice(1))
export class McpGatewayController {
  constructor(private readonly gateway: McpGatewayService) {}

  @Post()
  @UseGuards(ApiKeyGuard)
  handle(@Req() req: McpRequest, @Res() res: Response): Promise<void> {
    return this.gateway.handle(req, res);
  }

  /** Stateless server: no standalone SSE stream (GET) and no session to end (DELETE). */
  @All()
  otherMethods(@Res() res: Response): never {
    res.setHeader('Allow', 'POST');
    throw new JsonRpcHttpException(HttpStatus.METHOD_NOT_ALLOWED, 'Method not allowed: send JSON-RPC messages with POST', -32000);
  }
}
