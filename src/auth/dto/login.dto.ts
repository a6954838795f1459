import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { NormalizeEmail } from '../../common/transforms.js';

export class LoginDto {
  @ApiProperty({ example: 'your@email.com' })
  @NormalizeEmail()
  @IsString()
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'yourpassword' })
  @IsString()
  @MaxLength(128)
  password: string;
}
