import type { ComponentChildren } from 'preact';

/** Newer / page n of m / Older, for lists the API pages (newest first). */
export function Pager({ label, page, pages, onPage, children }: { label: string; page: number; pages: number; onPage: (page: number) => void; children?: ComponentChildren }) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" class="secondary" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Newer
      </button>
      <span>
        Page {page} of {pages}
        {children}
      </span>
      <button type="button" class="secondary" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Older
      </button>
    </nav>
  );
}
