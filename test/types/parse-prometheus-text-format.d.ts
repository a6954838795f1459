// The package ships no types; this covers what the tests read (its output mirrors prom2json's).
declare module 'parse-prometheus-text-format' {
  /** One series. Counters and gauges carry `value`; unlabelled histograms `buckets` (by `le`), `count` and `sum`. Numbers stay text. */
  export interface PrometheusSample {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }

  export interface PrometheusMetricFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: PrometheusSample[];
  }

  export default function parsePrometheusTextFormat(text: string): PrometheusMetricFamily[];
}
