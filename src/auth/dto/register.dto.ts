import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { NormalizeEmail, Trim } from '../../common/transforms.js';

export class RegisterDto {
  @ApiProperty({ example: 'your@email.com', description: 'Trimmed and lower-cased before use' })
  @NormalizeEmail()
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'yourpassword', minLength: 8, maxLength: 128 })
  @IsString()
  @Length(8, 128, { message: 'password must be 8 to 128 characters long' })
  password: string;

  @ApiPropertyOptional({ example: 'alice', maxLength: 64, description: 'Defaults to the part of the email before @' })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 64)
  username?: string;
}
