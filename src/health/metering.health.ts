import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { MeteringService } from '../mcp-metering/metering.service.js';

/**
 * Whether the shared metering counters (Redis) answer. Always up: without Redis each gateway
 * meters on its own and keeps serving, so a load balancer must not take it out of rotation.
 */
@Injectable()
export class MeteringHealthIndicator {
  constructor(
    private readonly metering: MeteringService,
    private readonly health: HealthIndicatorService,
  ) {}

  isHealthy(key = 'metering') {
    const { state, failures } = this.metering.sharedCountersState();
    return this.health.check(key).up({ shared_counters: state, shared_counter_failures: failures });
  }
}
