import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per service, so four services in one process do not mix their series. */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly histograms = new Map<string, Histogram>();
  private readonly scrapeHooks: Array<() => Promise<void>> = [];

  constructor(
    readonly service: string,
    options: { defaultMetrics?: boolean } = {},
  ) {
    this.registry.setDefaultLabels({ service });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    let c = this.counters.get(name);
    if (!c) {
      c = new Counter({ name, help, labelNames, registers: [this.registry] });
      this.counters.set(name, c);
    }
    return c;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    let g = this.gauges.get(name);
    if (!g) {
      g = new Gauge({ name, help, labelNames, registers: [this.registry] });
      this.gauges.set(name, g);
    }
    return g;
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: number[]): Histogram {
    let h = this.histograms.get(name);
    if (!h) {
      h = new Histogram({
        name,
        help,
        labelNames,
        registers: [this.registry],
        ...(buckets ? { buckets } : {}),
      });
      this.histograms.set(name, h);
    }
    return h;
  }

  /**
   * Runs before every render: gauges read from elsewhere (the database, the broker) are set here, on scrape. A hook
   * that fails or takes longer than `timeoutMs` leaves its gauges as they were; the scrape still answers.
   */
  onScrape(hook: () => Promise<void>): void {
    this.scrapeHooks.push(hook);
  }

  async render(timeoutMs = 3_000): Promise<{ contentType: string; body: string }> {
    await Promise.all(
      this.scrapeHooks.map((hook) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
        return Promise.race([hook().catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
      }),
    );
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
