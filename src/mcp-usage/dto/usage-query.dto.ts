import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { IsIsoDate } from '../../common/is-iso-date.js';
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
}

export class StatsQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 30, minimum: 1, maximum: 365, default: 30 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'days must be a whole number' })
  @Min(1)
  @Max(365)
  days: number = 30;
}
