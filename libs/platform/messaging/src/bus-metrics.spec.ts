import { ServiceMetrics } from '@mailbridge/platform-observability';
import { BusMetrics } from './bus-metrics';

describe('BusMetrics event age', () => {
  it("observes how old a handled event is, from its envelope's occurredAt", async () => {
    const metrics = new ServiceMetrics('svc', { defaultMetrics: false });
    const bus = new BusMetrics(metrics, 'in-process');
    bus.consumed('t', 'svc.g', 0.001, new Date(Date.now() - 3_000).toISOString());
    bus.consumed('t', 'svc.g', 0.001, 'not a date');
    bus.consumed('t', 'svc.g', 0.001);
    const text = await metrics.registry.metrics();
    const bucket = (le: string) =>
      Number(
        new RegExp(
          `mailbridge_event_age_seconds_bucket\\{le="${le.replace('+', '\\+')}",[^}]*group="svc.g"[^}]*\\} (\\d+)`,
        ).exec(text)?.[1],
      );
    expect(bucket('2')).toBe(0);
    expect(bucket('4')).toBe(1);
    expect(bucket('+Inf')).toBe(1);
  });
});
