import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { IsIsoDate } from '../../clickhouse/is-iso-date.js';
import { PageParam } from '../../common/page-param.js';

export class HistoryQueryDto {
  @PageParam(1_000_000, 1)
  page: number = 1;

  @PageParam(100, 20)
  page_size: number = 20;

  @ApiPropertyOptional({ example: '2026-11-01', description: 'First UTC day included (YYYY-MM-DD)' })
  @IsOptional()
  @IsIsoDate()
  start_date?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'Last UTC day included (YYYY-MM-DD)' })
  @IsOptional()
  @IsIsoDate()
  end_date?: string;

  @ApiPropertyOptional({ example: 'get_daily_bars' })
  @IsOptional()
  @IsString()
  @Length(1, 100)
  tool_name?: string;

  @KeyIdParam()
  api_key_id?: string;
}

export class StatsQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 30, minimum: 1, maximum: 365, default: 30, description: 'The last `days` UTC days, today included (unless start_date is given)' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'days must be a whole number' })
  @Min(1)
  @Max(365)
  days: number = 30;

  @ApiPropertyOptional({ example: '2026-11-01', description: 'First UTC day included (YYYY-MM-DD); replaces `days`. At most 366 days before end_date' })
  @IsOptional()
  @IsIsoDate()
  start_date?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'Last UTC day included (YYYY-MM-DD; default: today)' })
  @IsOptional()
  @IsIsoDate()
  end_date?: string;

  @KeyIdParam()
  api_key_id?: string;
}

/** Only one of the caller's keys (revoked ones too); an id of someone else's key matches nothing. */
function KeyIdParam(): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f', description: "Only this key's calls (key_id from /api/mcp-keys/list)" }),
    IsOptional(),
    IsString(),
    Length(1, 100),
  );
}
