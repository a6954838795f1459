import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, Max, Min, IsOptional } from 'class-validator';

/** Pages of an admin list; the bounds keep an offset ClickHouse must skip small. */
export class PageQueryDto {
  @ApiPropertyOptional({ example: 1, minimum: 1, maximum: 10_000, default: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'page must be a whole number' })
  @Min(1)
  @Max(10_000)
  page: number = 1;

  @ApiPropertyOptional({ example: 50, minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'page_size must be a whole number' })
  @Min(1)
  @Max(100)
  page_size: number = 50;
}

/** Where a page starts. */
export const pageOffset = (query: PageQueryDto) => (query.page - 1) * query.page_size;
