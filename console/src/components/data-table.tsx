import type { ComponentChildren } from 'preact';

export interface Column {
  label: string;
  /** Right-aligned figures. */
  numeric?: boolean;
  /** Named for screen readers only (a column of buttons). */
  hidden?: boolean;
}

/** A table that scrolls sideways on its own on narrow screens, with its column headers. */
export function DataTable({ columns, children, footer }: { columns: Column[]; children: ComponentChildren; footer?: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.label} class={column.numeric ? 'number' : undefined}>
                {column.hidden ? <span class="visually-hidden">{column.label}</span> : column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
        {footer && <tfoot>{footer}</tfoot>}
      </table>
    </div>
  );
}
