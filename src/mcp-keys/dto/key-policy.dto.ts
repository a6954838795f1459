import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsDefined, IsInt, IsObject, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import type { KeyPolicy } from '../key-policy.js';

const MAX_SCOPE_ENTRIES = 100;
/** Far above any real quota, and still an exact JavaScript integer. */
const MAX_QUOTA = 1_000_000_000_000;

const Limit = (description: string, max: number) => [
  ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: max, description }),
  IsOptional(),
  IsInt({ message: ({ property }) => `${property} must be a whole number, or null for the service default` }),
  Min(1),
  Max(max),
];

const Scope = (description: string, example: string[]) => [
  ApiPropertyOptional({ type: [String], nullable: true, example, description }),
  IsOptional(),
  IsArray(),
  ArrayMaxSize(MAX_SCOPE_ENTRIES),
  IsString({ each: true }),
  Length(1, 100, { each: true }),
];

const apply = (decorators: PropertyDecorator[]): PropertyDecorator => (target, key) => decorators.forEach((decorate) => decorate(target, key));

/**
 * A key's policy as a request sets it. A field left out keeps its value; null returns it to the
 * default (scopes: every tool and table; limits: the service's configured default).
 */
export class KeyPolicyDto {
  @apply(Scope('Tools the key may call (tools/list shows only these); [] or null: all', ['get_daily_bars']))
  tools?: string[] | null;

  @apply(Scope('Tables the key may read, whichever tool reads them; [] or null: all', ['ods_daily']))
  tables?: string[] | null;

  @apply(Limit('Calls per minute (sliding window); over it, HTTP 429 with Retry-After', 1_000_000))
  calls_per_minute?: number | null;

  @apply(Limit('Records returned per UTC day', MAX_QUOTA))
  records_per_day?: number | null;

  @apply(Limit('Records returned per UTC month', MAX_QUOTA))
  records_per_month?: number | null;

  @apply(Limit('Tool calls per UTC day', MAX_QUOTA))
  calls_per_day?: number | null;
}

export class SetKeyPolicyDto {
  @ApiProperty({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f' })
  @IsString()
  @Length(1, 64)
  key_id: string;

  @ApiProperty({ type: KeyPolicyDto })
  @IsDefined({ message: 'policy is required: an object with the fields to change' })
  @IsObject({ message: 'policy must be an object' })
  @ValidateNested()
  @Type(() => KeyPolicyDto)
  policy: KeyPolicyDto;
}

/** A key's policy as stored: null limits follow the service default. */
export class KeyPolicyViewDto {
  @ApiProperty({ type: [String], example: ['get_daily_bars'], description: 'Tools the key may call; []: all' })
  tools: string[];

  @ApiProperty({ type: [String], example: [], description: 'Tables the key may read; []: all' })
  tables: string[];

  @ApiProperty({ type: 'integer', nullable: true, example: 60, description: 'null: the service default' })
  calls_per_minute: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: 100000 })
  records_per_day: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: null })
  records_per_month: number | null;

  @ApiProperty({ type: 'integer', nullable: true, example: null })
  calls_per_day: number | null;

  static from(policy: KeyPolicy): KeyPolicyViewDto {
    return {
      tools: [...policy.tools],
      tables: [...policy.tables],
      calls_per_minute: policy.callsPerMinute,
      records_per_day: policy.recordsPerDay,
      records_per_month: policy.recordsPerMonth,
      calls_per_day: policy.callsPerDay,
    };
  }
}

export class KeyPolicyResponseDto {
  @ApiProperty({ example: true })
  success: true;

  @ApiProperty({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f' })
  key_id: string;

  @ApiProperty({ type: KeyPolicyViewDto })
  policy: KeyPolicyViewDto;
}
