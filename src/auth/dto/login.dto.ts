import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { MAX_EMAIL_LENGTH, NormalizeEmail } from '../email-address.js';

export class LoginDto {
  @ApiProperty({ example: 'your@email.com', description: 'Normalized as at registration' })
  @NormalizeEmail()
  @IsString()
  @MaxLength(MAX_EMAIL_LENGTH)
  email: string;

  @ApiProperty({ example: 'yourpassword' })
  @IsString()
  @MaxLength(128)
  password: string;
}
