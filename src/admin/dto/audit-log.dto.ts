import { ApiProperty } from '@nestjs/swagger';

export class AuditEntryDto {
  @ApiProperty({ example: '019abf5e-7c1a-7000-8a3b-1c2d3e4f5a6b', description: 'UUIDv7: sorts by time' })
  id: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T10:00:00Z' })
  created_at: string;

  @ApiProperty({ example: '6f1c2a4e-9d1b-4c51-8a8e-2f7f8a0b1c2d', description: 'The admin’s user id, or `cli` for `npm run admin` on the server' })
  admin_user_id: string;

  @ApiProperty({ example: 'admin@example.com', description: 'The admin’s email when they acted; empty for `npm run admin`' })
  admin_email: string;

  @ApiProperty({ example: 'user.disable', description: 'user.disable, user.enable, user.grant_admin, user.revoke_admin, key.revoke, key.policy, …' })
  action: string;

  @ApiProperty({ example: 'user', description: 'user or key' })
  target_type: string;

  @ApiProperty({ example: '9b2f0c1e-2d3a-4b5c-8d9e-0f1a2b3c4d5e' })
  target_id: string;

  @ApiProperty({ example: { email: 'alice@example.com', was_active: true }, type: 'object', additionalProperties: true, description: 'What the target was before the action, and the action’s parameters' })
  details: Record<string, unknown>;
}

export class AuditLogDto {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' })
  entries: AuditEntryDto[];

  @ApiProperty({ type: 'integer', example: 3 })
  total: number;

  @ApiProperty({ type: 'integer', example: 1 })
  page: number;

  @ApiProperty({ type: 'integer', example: 50 })
  page_size: number;
}
