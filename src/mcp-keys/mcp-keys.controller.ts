import { Body, Controller, Get, HttpCode, HttpStatus, Post, UseGuards, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import type { User } from '../auth/user.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { CreateKeyDto, CreateKeyResponseDto } from './dto/create-key.dto.js';
import { KeyListDto } from './dto/key-list.dto.js';
import { KeyPolicyResponseDto, SetKeyPolicyDto } from './dto/key-policy.dto.js';
import { RevokeKeyDto, SuccessDto } from './dto/revoke-key.dto.js';
import { McpKeysService } from './mcp-keys.service.js';

/** How a policy in a request is refused: create and policy answer alike. */
const ApiPolicyRefusals = () =>
  applyDecorators(
    ApiResponse({ status: 400, type: ErrorResponseDto, description: 'Invalid field, or a scope naming a tool or table not served here' }),
    ApiResponse({ status: 403, type: ErrorResponseDto, description: 'A limit above the service default (administrators only)' }),
  );

@ApiTags('mcp-keys')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@ApiResponse({ status: 401, type: ErrorResponseDto, description: 'Missing, invalid or expired JWT' })
@Controller('api/mcp-keys')
export class McpKeysController {
  constructor(private readonly keys: McpKeysService) {}

  @Post('create')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Create an MCP API key (the full key is shown only in this response)' })
  @ApiResponse({ status: 200, type: CreateKeyResponseDto })
  @ApiPolicyRefusals()
  @ApiResponse({ status: 409, type: ErrorResponseDto, description: 'The per-user cap on active keys is reached' })
  create(@CurrentUser() user: User, @Body() dto: CreateKeyDto): Promise<CreateKeyResponseDto> {
    return this.keys.create(user, dto);
  }

  @Post('policy')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Change one of your keys' scopes, rate limit or quotas (fields left out keep their value; null: the default)" })
  @ApiResponse({ status: 200, type: KeyPolicyResponseDto })
  @ApiPolicyRefusals()
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such key among yours' })
  setPolicy(@CurrentUser() user: User, @Body() dto: SetKeyPolicyDto): Promise<KeyPolicyResponseDto> {
    return this.keys.setOwnPolicy(user, dto.key_id, dto.policy);
  }

  @Get('list')
  @ApiOperation({ summary: "The caller's keys, newest first, without the keys themselves" })
  @ApiResponse({ status: 200, type: KeyListDto })
  list(@CurrentUser() user: User): Promise<KeyListDto> {
    return this.keys.list(user.id);
  }

  @Post('revoke')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Revoke one of your keys; MCP calls with it are refused from the next request on' })
  @ApiResponse({ status: 200, type: SuccessDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such key among yours' })
  async revoke(@CurrentUser() user: User, @Body() dto: RevokeKeyDto): Promise<SuccessDto> {
    await this.keys.revoke(user.id, dto.key_id);
    return { success: true, message: 'API key revoked' };
  }
}
