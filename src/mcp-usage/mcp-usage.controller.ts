import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { JwtAuthGuard } from '../auth/jwt-auth.guard.js';
import type { User } from '../auth/user.js';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { HistoryQueryDto, StatsQueryDto } from './dto/usage-query.dto.js';
import { UsageHistoryDto, UsageStatsDto } from './dto/usage-response.dto.js';
import { McpUsageService } from './mcp-usage.service.js';

@ApiTags('mcp-usage')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@ApiResponse({ status: 400, type: ErrorResponseDto, description: 'A parameter is malformed or out of range' })
@ApiResponse({ status: 401, type: ErrorResponseDto })
@ApiResponse({ status: 429, type: ErrorResponseDto, description: 'More than USAGE_QUERIES_PER_USER of your history/stats queries at once' })
@Controller('api/mcp-usage')
export class McpUsageController {
  constructor(private readonly usage: McpUsageService) {}

  @Get('history')
  @ApiOperation({ summary: "The caller's MCP tool calls, newest first (all of their keys, revoked ones included)" })
  @ApiResponse({ status: 200, type: UsageHistoryDto })
  history(@CurrentUser() user: User, @Query() query: HistoryQueryDto): Promise<UsageHistoryDto> {
    return this.usage.history(user.id, query);
  }

  @Get('stats')
  @ApiOperation({ summary: 'Calls, records and errors per UTC day, and the top tools and tables, over the last `days` days or start_date..end_date' })
  @ApiResponse({ status: 200, type: UsageStatsDto })
  stats(@CurrentUser() user: User, @Query() query: StatsQueryDto): Promise<UsageStatsDto> {
    return this.usage.stats(user.id, query);
  }
}
