import { PageParam } from '../../common/page-param.js';

/** Pages of an admin list; the bounds keep the offset ClickHouse must skip small. */
export class PageQueryDto {
  @PageParam(10_000, 1)
  page: number = 1;

  @PageParam(100, 50)
  page_size: number = 50;
}

/** Where a page starts. */
export const pageOffset = (query: PageQueryDto) => (query.page - 1) * query.page_size;
