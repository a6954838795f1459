import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { McpKeysModule } from '../mcp-keys/mcp-keys.module.js';
import { ConnectionController } from './connection.controller.js';
import { McpOAuthProvider } from './oauth.provider.js';
import { OAuthClientsRepository } from './oauth-clients.repository.js';
import { OAuthPruner } from './oauth-pruner.js';
import { OAuthTokensRepository } from './oauth-tokens.repository.js';
import { PublicUrls } from './public-urls.js';

/** Sign-in from MCP clients (OAuth 2.1 as the MCP authorization spec has it); routes are mounted by mountOAuthRoutes. */
@Module({
  imports: [AuthModule, McpKeysModule],
  controllers: [ConnectionController],
  providers: [McpOAuthProvider, OAuthClientsRepository, OAuthTokensRepository, OAuthPruner, PublicUrls],
  exports: [PublicUrls],
})
export class McpOAuthModule {}
