import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import type { EventBus } from '@mailbridge/platform-messaging';
import { pingDatabase } from '@mailbridge/platform-persistence';
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

  /**
   * Ready for traffic: its database answers and its brokers answer (the Kafka bus probes them every few seconds).
   * Each check has a deadline: an unreachable server that swallows packets must make this 503, not a hung probe.
   */
  @Get('health/ready')
  async ready(@Res() res: Response): Promise<void> {
    const [database, bus] = await Promise.all([
      withDeadline(pingDatabase(this.dataSource).then(() => ({ ok: true }))),
      withDeadline(this.bus.health()),
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

const CHECK_DEADLINE_MS = 4_000;

function withDeadline(
  check: Promise<{ ok: boolean; detail?: string }>,
): Promise<{ ok: boolean; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    check.catch((e: Error) => ({ ok: false, detail: e.message })),
    new Promise<{ ok: boolean; detail: string }>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, detail: `no answer within ${CHECK_DEADLINE_MS} ms` }),
        CHECK_DEADLINE_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}
