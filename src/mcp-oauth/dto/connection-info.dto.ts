import { ApiProperty } from '@nestjs/swagger';

export class ConnectionInfoDto {
  @ApiProperty({ example: 'http://localhost:8001/messages', description: 'The MCP endpoint clients connect to (streamable HTTP)' })
  mcp_url: string;

  @ApiProperty({ example: true, description: 'Whether MCP clients may sign in with OAuth instead of a pasted key' })
  oauth_enabled: boolean;
}
