import { ApiProperty } from '@nestjs/swagger';
import { toIsoSeconds } from '../../clickhouse/datetime.js';
import type { User } from '../user.js';

export class UserProfileDto {
  @ApiProperty({ example: '6f1c2a4e-9d1b-4c51-8a8e-2f7f8a0b1c2d' })
  id: string;

  @ApiProperty({ example: 'your@email.com' })
  email: string;

  @ApiProperty({ example: 'alice' })
  username: string;

  @ApiProperty({ example: true })
  is_active: boolean;

  @ApiProperty({ example: false })
  is_admin: boolean;

  @ApiProperty({ example: 'free', description: "The original service's plan name: free, pro or admin" })
  subscription_tier: string;

  @ApiProperty({ example: '2026-11-25T10:00:00Z', format: 'date-time' })
  created_at: string;

  static from(user: User): UserProfileDto {
    return {
      id: user.id,
      email: user.email,
      username: user.username,
      is_active: user.isActive,
      is_admin: user.isAdmin,
      subscription_tier: user.subscriptionTier,
      created_at: toIsoSeconds(user.createdAt),
    };
  }
}

export class RegisterResponseDto {
  @ApiProperty({ example: true })
  success: true;

  @ApiProperty({ example: 'User registered' })
  message: string;

  @ApiProperty({ type: UserProfileDto })
  user: UserProfileDto;
}
