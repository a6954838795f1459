// Minimal markdown rendering for bench/results.md.

const cell = (value) => String(value ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');

/** A table from a header row and data rows; `align` is one of 'l' | 'r' per column (default right after the first). */
export function table(header, rows, align = header.map((_, i) => (i === 0 ? 'l' : 'r'))) {
  const rule = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [header, rule, ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`).join('\n');
}

export const section = (title, ...blocks) => [`## ${title}`, ...blocks.filter(Boolean)].join('\n\n');
