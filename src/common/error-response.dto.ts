import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'email' })
  field: string;

  @ApiProperty({ example: ['email must be a valid email address'], type: [String] })
  messages: string[];
}

/** The body of every REST error response. */
export class ErrorResponseDto {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Validation failed: email must be a valid email address', description: 'What went wrong, for people' })
  detail: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'Each invalid field (validation errors only)' })
  errors?: FieldErrorDto[];
}
