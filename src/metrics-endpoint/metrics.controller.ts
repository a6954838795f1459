import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiProduces, ApiResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorResponseDto } from '../common/error-response.dto.js';
import { MetricsRegistry } from '../metrics/metrics-registry.js';
import { MetricsAccessGuard } from './metrics-access.guard.js';

/** @ApiProduces applies to every response of the route, yet its errors are JSON in the one error shape. */
const jsonErrorResponse = (status: number, description: string) =>
  ApiResponse({ status, description, content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorResponseDto) } } } });

@ApiTags('metrics')
@ApiBearerAuth()
@ApiExtraModels(ErrorResponseDto)
@UseGuards(MetricsAccessGuard)
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format), for METRICS_TOKEN or an administrator\'s JWT' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Every metric in the Prometheus text format', schema: { type: 'string', example: 'mcp_tool_calls_total{tool="get_daily_bars",outcome="success"} 42' } })
  @jsonErrorResponse(401, 'No credential, a wrong METRICS_TOKEN, or an invalid or expired JWT')
  @jsonErrorResponse(403, 'A valid JWT of a user who is not an administrator')
  async scrape(@Res({ passthrough: true }) response: Response): Promise<string> {
    response.setHeader('Content-Type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}
