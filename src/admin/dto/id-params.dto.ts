import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

/**
 * Ids are UUIDs here and in the original service; anything else that is not a short plain token
 * (slashes, quotes, control characters, kilobytes of text) is refused before any lookup.
 */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ID_MESSAGE = 'must be an id: 1 to 64 letters, digits, "-" or "_"';

export class UserIdParamDto {
  @ApiProperty({ example: '6f1c2a4e-9d1b-4c51-8a8e-2f7f8a0b1c2d' })
  @Matches(ID_PATTERN, { message: `user_id ${ID_MESSAGE}` })
  user_id: string;
}

export class KeyIdParamDto {
  @ApiProperty({ example: '0f4d2c1e-5b6a-4c3d-9e8f-7a6b5c4d3e2f' })
  @Matches(ID_PATTERN, { message: `key_id ${ID_MESSAGE}` })
  key_id: string;
}
