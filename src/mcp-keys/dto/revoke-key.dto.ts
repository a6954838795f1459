import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class RevokeKeyDto {
  @ApiProperty({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f' })
  @IsString()
  @Length(1, 64)
  key_id: string;
}

export class SuccessDto {
  @ApiProperty({ example: true })
  success: true;

  @ApiProperty({ example: 'API key revoked' })
  message: string;
}
