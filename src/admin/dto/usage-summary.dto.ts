import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IsIsoDate } from '../../clickhouse/is-iso-date.js';

export const USAGE_GROUPS = ['user', 'key', 'tool', 'table', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export class UsageSummaryQueryDto {
  @ApiPropertyOptional({ example: '2026-11-01', description: 'First UTC day included (YYYY-MM-DD); default 29 days before end_date' })
  @IsOptional()
  @IsIsoDate()
  start_date?: string;

  @ApiPropertyOptional({ example: '2026-11-30', description: 'Last UTC day included (YYYY-MM-DD); default today. At most 366 days from start_date' })
  @IsOptional()
  @IsIsoDate()
  end_date?: string;

  @ApiPropertyOptional({ enum: USAGE_GROUPS, default: 'user', description: 'What each row counts: a user id, an API key id, a tool, a table or a UTC day' })
  @IsOptional()
  @IsIn(USAGE_GROUPS, { message: `group_by must be one of: ${USAGE_GROUPS.join(', ')}` })
  group_by: UsageGroup = 'user';
}

export class UsageFiguresDto {
  @ApiProperty({ type: 'integer', example: 120, description: 'Tool calls' })
  calls: number;

  @ApiProperty({ type: 'integer', example: 3400, description: 'Rows the calls returned' })
  records: number;

  @ApiProperty({ type: 'integer', example: 2, description: 'Calls that failed' })
  errors: number;

  @ApiProperty({
    example: 14,
    nullable: true,
    type: Number,
    description: 'Median call duration in ms (ClickHouse quantilesTiming: exact below 1024 ms or up to 5670 calls, else 16 ms bins; over 30 s counts as 30000); null without calls',
  })
  p50_ms: number | null;

  @ApiProperty({ example: 85, nullable: true, type: Number, description: '95th percentile of call duration in ms, as p50_ms' })
  p95_ms: number | null;
}

export class UsageSummaryRowDto extends UsageFiguresDto {
  @ApiProperty({ example: '6f1c2a4e-9d1b-4c51-8a8e-2f7f8a0b1c2d', description: 'The user id, key id, tool name, table name or day (YYYY-MM-DD) of the row' })
  key: string;

  @ApiPropertyOptional({ example: 'alice@example.com', nullable: true, type: String, description: 'group_by=user only: the account’s email; null for an id no account has' })
  email?: string | null;
}

export class UsageSummaryDto {
  @ApiProperty({ example: '2026-10-27' })
  start_date: string;

  @ApiProperty({ example: '2026-11-25' })
  end_date: string;

  @ApiProperty({ enum: USAGE_GROUPS, example: 'user' })
  group_by: UsageGroup;

  @ApiProperty({ type: UsageFiguresDto, description: 'Every call in the range' })
  totals: UsageFiguresDto;

  @ApiProperty({ type: [UsageSummaryRowDto], description: 'Most records first, then most calls; at most 1000' })
  rows: UsageSummaryRowDto[];

  @ApiProperty({ example: false, description: 'True when more than 1000 groups had calls (the rest are left out)' })
  truncated: boolean;
}
