import { ApiProperty } from '@nestjs/swagger';

export class TokenDto {
  @ApiProperty({ example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...' })
  access_token: string;

  @ApiProperty({ example: 'bearer', enum: ['bearer'] })
  token_type: 'bearer';

  @ApiProperty({ type: 'integer', example: 86400, description: 'Lifetime of the token in seconds' })
  expires_in: number;
}
