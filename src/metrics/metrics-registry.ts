import { Injectable } from '@nestjs/common';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The registry GET /metrics serves. It knows no feature: each feature module creates its own
 * instruments in it (a `*.metrics.ts` provider beside the code it measures), so this ground layer
 * never imports the modules that report into it.
 */
@Injectable()
export class MetricsRegistry {
  /** Not prom-client's global registry: each app (tests start several in one process) counts its own. */
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  counter<Label extends string = never>(name: string, help: string, labelNames: readonly Label[] = []): Counter<Label> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

/** A label child counted from zero, so rate() and absence alerts work before the first event. */
export function zeroed(counter: Counter.Internal): Counter.Internal {
  counter.inc(0);
  return counter;
}
