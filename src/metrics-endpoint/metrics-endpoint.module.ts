import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { MetricsAccessGuard } from './metrics-access.guard.js';
import { MetricsController } from './metrics.controller.js';

/** GET /metrics on the REST port: the registry's text, for a scraper with METRICS_TOKEN or an administrator. */
@Module({
  imports: [AuthModule],
  controllers: [MetricsController],
  providers: [MetricsAccessGuard],
})
export class MetricsEndpointModule {}
