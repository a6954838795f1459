import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import { Trim } from '../../common/transforms.js';
import { IsUnmistakableEmail, MAX_EMAIL_LENGTH, NormalizeEmail } from '../email-address.js';

export class RegisterDto {
  @ApiProperty({
    example: 'your@email.com',
    maxLength: MAX_EMAIL_LENGTH,
    description:
      'Trimmed, NFKC-normalized and lower-cased before use (so a full-width or other compatibility spelling is the same address); ' +
      'refused when it holds invisible or control characters, or mixes scripts within one part (e.g. Latin and Cyrillic letters)',
  })
  @NormalizeEmail()
  @IsEmail({}, { message: 'email must be a valid email address' })
  @MaxLength(MAX_EMAIL_LENGTH)
  @IsUnmistakableEmail()
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
