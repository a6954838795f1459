import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsObject, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { Trim } from '../../common/transforms.js';
import { KeyPolicyDto, KeyPolicyViewDto } from './key-policy.dto.js';

export class CreateKeyDto {
  @ApiPropertyOptional({ example: 'my-cursor-key', maxLength: 100, default: 'default' })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 100, { message: 'key_name must be 1 to 100 characters long' })
  key_name?: string;

  @ApiPropertyOptional({ type: 'integer', example: 90, minimum: 1, maximum: 365, nullable: true, description: 'Days until the key expires; null or absent: never' })
  @IsOptional()
  @IsInt({ message: 'expires_days must be a whole number of days' })
  @Min(1)
  @Max(365)
  expires_days?: number | null;

  @ApiPropertyOptional({ type: KeyPolicyDto, description: 'Scopes, rate limit and quotas; absent: all tools, the service defaults' })
  @IsOptional()
  @IsObject({ message: 'policy must be an object' })
  @ValidateNested()
  @Type(() => KeyPolicyDto)
  policy?: KeyPolicyDto;
}

export class CreateKeyResponseDto {
  @ApiProperty({ example: true })
  success: true;

  @ApiProperty({ example: 'API key created. Save it now: it will not be shown again.' })
  message: string;

  @ApiProperty({ example: 'sk-3f9c1e0b7a5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e', description: 'The full key; shown only in this response' })
  api_key: string;

  @ApiProperty({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f' })
  key_id: string;

  @ApiProperty({ example: 'my-cursor-key' })
  key_name: string;

  @ApiProperty({ example: 'sk-3f9c1e0b7...' })
  api_key_prefix: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T10:00:00Z' })
  created_at: string;

  @ApiProperty({ format: 'date-time', example: '2027-02-23T10:00:00Z', nullable: true, type: String })
  expires_at: string | null;

  @ApiProperty({ type: KeyPolicyViewDto })
  policy: KeyPolicyViewDto;
}
