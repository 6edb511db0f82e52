import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import type { EventBus } from '@mailbridge/platform-messaging';
import type { ServiceMetrics } from '@mailbridge/platform-observability';
import { EVENT_BUS, METRICS } from '../tokens';

@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
  ) {}

  /** The process is alive (Kubernetes restarts it otherwise). Checks nothing external on purpose. */
  @Get('health/live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Ready for traffic: its database answers and its bus is connected. */
  @Get('health/ready')
  async ready(@Res() res: Response): Promise<void> {
    const [database, bus] = await Promise.all([
      this.dataSource
        .query('SELECT 1')
        .then(() => ({ ok: true }))
        .catch((e: Error) => ({ ok: false, detail: e.message })),
      this.bus.health().catch((e: Error) => ({ ok: false, detail: e.message })),
    ]);
    const ok = database.ok && bus.ok;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: { database, bus } });
  }

  @Get('metrics')
  async metricsText(@Res() res: Response): Promise<void> {
    const { contentType, body } = await this.metrics.render();
    res.setHeader('Content-Type', contentType).send(body);
  }
}
