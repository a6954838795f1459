import { ApiProperty } from '@nestjs/swagger';

export class UsageRecordDto {
  @ApiProperty({ example: '9b2f0c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e' }) id: string;
  @ApiProperty({ example: '6f1c2a4e-9d1b-4c51-8a8e-2f7f8a0b1c2d' }) user_id: string;
  @ApiProperty({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f' }) api_key_id: string;
  @ApiProperty({ example: 'get_daily_bars' }) tool_name: string;
  @ApiProperty({ example: 'tushare_daily', description: 'The data plugin the tool belongs to (empty for unknown tools)' }) service_prefix: string;
  @ApiProperty({ example: 'ods_daily' }) table_name: string;
  @ApiProperty({ example: '{"ts_code":"000001.SZ"}', description: 'Arguments as JSON, truncated to 2000 characters' }) arguments: string;
  @ApiProperty({ type: 'integer', example: 5, description: 'Rows the tool returned' }) record_count: number;
  @ApiProperty({ type: 'integer', example: 12 }) duration_ms: number;
  @ApiProperty({ example: false }) is_error: boolean;
  @ApiProperty({ example: null, nullable: true, type: String }) error_message: string | null;
  @ApiProperty({ format: 'date-time', example: '2026-11-25T10:00:00Z' }) created_at: string;
}

export class UsageHistoryDto {
  @ApiProperty({ type: [UsageRecordDto] }) records: UsageRecordDto[];
  @ApiProperty({ type: 'integer', example: 42, description: 'Records matching the filters' }) total: number;
  @ApiProperty({ type: 'integer', example: 1 }) page: number;
  @ApiProperty({ type: 'integer', example: 20 }) page_size: number;
}

export class DailyStatDto {
  @ApiProperty({ example: '2026-11-25' }) date: string;
  @ApiProperty({ type: 'integer', example: 12 }) call_count: number;
  @ApiProperty({ type: 'integer', example: 340 }) total_records: number;
  @ApiProperty({ type: 'integer', example: 1, description: 'Calls that ended in an error' }) error_count: number;
}

export class TopTableDto {
  @ApiProperty({ example: 'ods_daily' }) table_name: string;
  @ApiProperty({ type: 'integer', example: 8 }) call_count: number;
  @ApiProperty({ type: 'integer', example: 300 }) total_records: number;
}

export class TopToolDto {
  @ApiProperty({ example: 'get_daily_bars' }) tool_name: string;
  @ApiProperty({ example: 'ods_daily' }) table_name: string;
  @ApiProperty({ type: 'integer', example: 8 }) call_count: number;
  @ApiProperty({ type: 'integer', example: 300 }) total_records: number;
}

export class UsageStatsDto {
  @ApiProperty({ type: [DailyStatDto], description: 'One entry per UTC day that had calls, oldest first' }) daily_stats: DailyStatDto[];
  @ApiProperty({ type: 'integer', example: 12 }) total_calls: number;
  @ApiProperty({ type: 'integer', example: 340 }) total_records: number;
  @ApiProperty({ example: 12, description: 'total_calls divided by the number of days that had calls' }) avg_daily_calls: number;
  @ApiProperty({ type: [TopToolDto], description: 'Top 10 tools by calls' }) top_tools: TopToolDto[];
  @ApiProperty({ type: 'integer', example: 1 }) total_errors: number;
  @ApiProperty({ type: [TopTableDto], description: 'Top 10 tables by calls' }) top_tables: TopTableDto[];
  @ApiProperty({ example: '2026-10-27', description: 'First UTC day counted' }) start_date: string;
  @ApiProperty({ example: '2026-11-25', description: 'Last UTC day counted' }) end_date: string;
}
