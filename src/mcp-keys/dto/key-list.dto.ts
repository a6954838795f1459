import { ApiProperty } from '@nestjs/swagger';
import { toIsoSeconds, toIsoSecondsOrNull as isoOrNull } from '../../clickhouse/datetime.js';
import { isExpired } from '../api-key.js';
import type { ApiKeyWithUsage } from '../api-keys.repository.js';
import type { KeyPolicy } from '../key-policy.js';
import { KeyPolicyViewDto } from './key-policy.dto.js';

export class KeySummaryDto {
  @ApiProperty({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f' })
  id: string;

  @ApiProperty({ example: 'my-cursor-key' })
  key_name: string;

  @ApiProperty({ example: 'sk-3f9c1e0b7...' })
  api_key_prefix: string;

  @ApiProperty({ example: true, description: 'False once revoked' })
  is_active: boolean;

  @ApiProperty({ example: false, description: 'True once expires_at has passed' })
  is_expired: boolean;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T10:05:00Z', nullable: true, type: String, description: 'Updated at most once a minute' })
  last_used_at: string | null;

  @ApiProperty({ format: 'date-time', example: '2027-02-23T10:00:00Z', nullable: true, type: String })
  expires_at: string | null;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T10:00:00Z' })
  created_at: string;

  @ApiProperty({ type: KeyPolicyViewDto })
  policy: KeyPolicyViewDto;

  static from(key: ApiKeyWithUsage, policy: KeyPolicy, now: Date): KeySummaryDto {
    return {
      id: key.id,
      key_name: key.keyName,
      api_key_prefix: key.prefix,
      is_active: key.isActive,
      is_expired: isExpired(key, now),
      last_used_at: isoOrNull(key.lastUsedAt),
      expires_at: isoOrNull(key.expiresAt),
      created_at: toIsoSeconds(key.createdAt),
      policy: KeyPolicyViewDto.from(policy),
    };
  }
}

export class KeyListDto {
  @ApiProperty({ type: [KeySummaryDto] })
  keys: KeySummaryDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total: number;
}
