import { DataSource } from 'typeorm';
import type { Logger } from '@mailbridge/platform-observability';
import { schemaOf } from './data-source.factory';

export interface InboxPrunerOptions {
  readonly dataSource: DataSource;
  readonly logger: Logger;
  /**
   * How long a handled event id is remembered. It must outlive any redelivery: the topics' retention plus the longest
   * a consumer may lag (a redelivery older than that cannot happen, Kafka no longer has the event).
   */
  readonly retentionDays: number;
  readonly intervalMs?: number;
  readonly batchSize?: number;
}

/**
 * The inbox (event ids already handled, per consumer) grows with every event; ids older than the retention are
 * deleted in small batches so a large backlog never holds long locks. Replicas may prune at once: deletes commute.
 */
export class InboxPruner {
  private readonly schema: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(private readonly options: InboxPrunerOptions) {
    this.schema = schemaOf(options.dataSource);
  }

  start(): void {
    if (this.timer) return;
    const interval = this.options.intervalMs ?? 3_600_000;
    // Replicas started together do not all prune at the same moment.
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.running = this.pruneOnce()
          .catch((error: unknown) => {
            this.options.logger.warn(
              { err: (error as Error).message },
              'inbox pruning failed; next round retries',
            );
            return 0;
          })
          .finally(() => {
            this.running = undefined;
            if (this.timer) tick(interval);
          });
      }, delay);
      this.timer.unref();
    };
    tick(Math.floor(Math.random() * Math.min(interval, 60_000)));
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes every expired id; returns how many. */
  async pruneOnce(): Promise<number> {
    const batch = this.options.batchSize ?? 5_000;
    let total = 0;
    for (;;) {
      const rows: Array<{ n: number }> = await this.options.dataSource.query(
        `WITH expired AS (
           SELECT consumer, event_id FROM "${this.schema}".inbox
            WHERE processed_at < now() - make_interval(days => $1::int)
            LIMIT $2
         ), gone AS (
           DELETE FROM "${this.schema}".inbox i USING expired e
            WHERE i.consumer = e.consumer AND i.event_id = e.event_id
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM gone`,
        [this.options.retentionDays, batch],
      );
      const n = rows[0]?.n ?? 0;
      total += n;
      if (n < batch) break;
    }
    if (total) this.options.logger.info({ pruned: total }, 'inbox: expired event ids deleted');
    return total;
  }
}
