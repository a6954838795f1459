import { ApiProperty } from '@nestjs/swagger';
import { UserProfileDto } from '../../auth/dto/user-profile.dto.js';

export class AdminUserListDto {
  @ApiProperty({ type: [UserProfileDto], description: 'Newest account first' })
  users: UserProfileDto[];

  @ApiProperty({ type: 'integer', example: 42, description: 'All accounts' })
  total: number;

  @ApiProperty({ type: 'integer', example: 1 })
  page: number;

  @ApiProperty({ type: 'integer', example: 50 })
  page_size: number;
}
