import { Controller, Get, Inject, Req } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ConnectionInfoDto } from './dto/connection-info.dto.js';
import { PublicUrls } from './public-urls.js';

/** What a client config needs (the console's ready-to-paste configs read it); nothing here is secret. */
@ApiTags('mcp-connection')
@Controller('api/mcp-connection')
export class ConnectionController {
  constructor(
    private readonly urls: PublicUrls,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The MCP endpoint URL as clients reach it, and whether they may sign in with OAuth' })
  @ApiResponse({ status: 200, type: ConnectionInfoDto })
  info(@Req() req: Request): ConnectionInfoDto {
    return { mcp_url: this.urls.mcpEndpoint(req), oauth_enabled: this.config.oauth.enabled };
  }
}
