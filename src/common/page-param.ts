import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** An optional whole-number query parameter from 1 to `max` (page, page_size); give the default as the property's initializer. */
export const PageParam = (max: number, defaultValue: number) =>
  applyDecorators(
    ApiPropertyOptional({ type: 'integer', example: defaultValue, minimum: 1, maximum: max, default: defaultValue }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: '$property must be a whole number' }),
    Min(1),
    Max(max),
  );
