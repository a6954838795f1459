import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { UserProfileDto } from '../auth/dto/user-profile.dto.js';
import type { User } from '../auth/user.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { KeyListDto } from '../mcp-keys/dto/key-list.dto.js';
import { SuccessDto } from '../mcp-keys/dto/revoke-key.dto.js';
import { KeyPolicyDto, KeyPolicyResponseDto } from '../mcp-keys/dto/key-policy.dto.js';
import { AdminOnly } from './admin-only.decorator.js';
import { AdminService } from './admin.service.js';
import { AuditLogService } from './audit-log.service.js';
import { AdminUserListDto } from './dto/admin-users.dto.js';
import { AuditLogDto } from './dto/audit-log.dto.js';
import { KeyIdParamDto, UserIdParamDto } from './dto/id-params.dto.js';
import { PageQueryDto } from './dto/page-query.dto.js';
import { UsageSummaryDto, UsageSummaryQueryDto } from './dto/usage-summary.dto.js';

@AdminOnly()
@ApiResponse({ status: 400, type: ErrorResponseDto, description: 'A parameter is malformed or out of range (the detail names it)' })
@Controller('api/admin')
export class AdminController {
  constructor(
    private readonly admin: AdminService,
    private readonly audit: AuditLogService,
  ) {}

  @Get('usage/summary')
  @ApiOperation({ summary: 'Calls, records, errors and latency of all users over UTC days, grouped by user, key, tool, table or day' })
  @ApiResponse({ status: 200, type: UsageSummaryDto })
  usageSummary(@Query() query: UsageSummaryQueryDto): Promise<UsageSummaryDto> {
    return this.admin.usageSummary(query);
  }

  @Get('users')
  @ApiOperation({ summary: 'All accounts, newest first' })
  @ApiResponse({ status: 200, type: AdminUserListDto })
  listUsers(@Query() query: PageQueryDto): Promise<AdminUserListDto> {
    return this.admin.listUsers(query);
  }

  @Post('users/:user_id/disable')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Disable an account: its JWTs and MCP keys are refused from the next request on (audited)" })
  @ApiResponse({ status: 200, type: UserProfileDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such user' })
  @ApiResponse({ status: 409, type: ErrorResponseDto, description: 'An administrator cannot disable their own account' })
  disableUser(@CurrentUser() admin: User, @Param() params: UserIdParamDto): Promise<UserProfileDto> {
    return this.admin.disableUser(admin, params.user_id);
  }

  @Post('users/:user_id/enable')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Enable an account again: its JWTs and active keys work again (audited)' })
  @ApiResponse({ status: 200, type: UserProfileDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such user' })
  enableUser(@CurrentUser() admin: User, @Param() params: UserIdParamDto): Promise<UserProfileDto> {
    return this.admin.enableUser(admin, params.user_id);
  }

  @Post('users/:user_id/admin')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Make an account an administrator (users.is_admin); it may use /api/admin from its next request on (audited)' })
  @ApiResponse({ status: 200, type: UserProfileDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such user' })
  grantAdmin(@CurrentUser() admin: User, @Param() params: UserIdParamDto): Promise<UserProfileDto> {
    return this.admin.grantAdmin(admin, params.user_id);
  }

  @Delete('users/:user_id/admin')
  @ApiOperation({ summary: "Take an account's administrator rights away, from its next request on (audited)" })
  @ApiResponse({ status: 200, type: UserProfileDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such user' })
  @ApiResponse({ status: 409, type: ErrorResponseDto, description: 'An administrator cannot revoke their own rights' })
  revokeAdmin(@CurrentUser() admin: User, @Param() params: UserIdParamDto): Promise<UserProfileDto> {
    return this.admin.revokeAdmin(admin, params.user_id);
  }

  @Get('users/:user_id/keys')
  @ApiOperation({ summary: "A user's MCP keys, newest first, as GET /api/mcp-keys/list shows them to the user" })
  @ApiResponse({ status: 200, type: KeyListDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such user' })
  listUserKeys(@Param() params: UserIdParamDto): Promise<KeyListDto> {
    return this.admin.listUserKeys(params.user_id);
  }

  @Post('keys/:key_id/revoke')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: "Revoke any user's MCP key; calls with it are refused from the next request on (audited)" })
  @ApiResponse({ status: 200, type: SuccessDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such key' })
  revokeKey(@CurrentUser() admin: User, @Param() params: KeyIdParamDto): Promise<SuccessDto> {
    return this.admin.revokeKey(admin, params.key_id);
  }

  @Put('keys/:key_id/policy')
  @ApiOperation({ summary: "Set any user's MCP key policy: scopes, rate limit, quotas, also above the defaults (fields left out keep their value; null: the default; audited)" })
  @ApiResponse({ status: 200, type: KeyPolicyResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: 'No such key' })
  setKeyPolicy(@CurrentUser() admin: User, @Param() params: KeyIdParamDto, @Body() change: KeyPolicyDto): Promise<KeyPolicyResponseDto> {
    return this.admin.setKeyPolicy(admin, params.key_id, change);
  }

  @Get('audit-log')
  @ApiOperation({ summary: 'What administrators changed, newest first' })
  @ApiResponse({ status: 200, type: AuditLogDto })
  auditLog(@Query() query: PageQueryDto): Promise<AuditLogDto> {
    return this.audit.list(query);
  }
}
