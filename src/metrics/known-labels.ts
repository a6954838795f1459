/** The one label value every name outside the known set is counted under. */
export const UNKNOWN_LABEL = 'unknown';

/**
 * Label children resolved once per known label value. The values come from the network (a
 * tools/call names its tool), and every distinct label value is a time series a Prometheus server
 * keeps, so a name outside the known set shares the children of UNKNOWN_LABEL: a caller inventing
 * names cannot grow the scrape or the server's memory. Resolving once also keeps the per-call cost
 * to a map lookup.
 */
export class KnownLabels<Children> {
  private readonly known: ReadonlyMap<string, Children>;
  private readonly unknown: Children;

  constructor(values: Iterable<string>, resolve: (label: string) => Children) {
    this.known = new Map([...new Set(values)].map((value) => [value, resolve(value)]));
    this.unknown = resolve(UNKNOWN_LABEL);
  }

  get(value: string): Children {
    return this.known.get(value) ?? this.unknown;
  }
}
