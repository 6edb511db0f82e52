import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { EventEnvelope } from '@mailbridge/contracts';
import { schemaOf } from './data-source.factory';
import type { EventBus } from '@mailbridge/platform-messaging';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';

export interface OutboxRelayOptions {
  readonly dataSource: DataSource;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly metrics?: ServiceMetrics;
  readonly batchSize?: number;
  /** Fallback poll: commits nudge the relay, the poll covers other replicas' commits. */
  readonly pollIntervalMs?: number;
  /** Only one replica of a service relays at a time (keeps per-key order); a dead leader's lease lapses after this. */
  readonly leaseMs?: number;
  /**
   * Batches appended but not yet delivered, at most (default 4), when the bus accepts before it delivers
   * (`publishAccepted`, in-process): the next batch need not wait for the slowest consumer of this one. Otherwise 1.
   */
  readonly batchesInFlight?: number;
}

interface OutboxRow {
  id: string;
  topic: string;
  envelope: EventEnvelope;
}

/**
 * Publishes a service's outbox in commit order, then deletes what was published. A crash between the two republishes
 * the batch on restart (consumers deduplicate by event id); nothing committed is ever lost.
 *
 * No transaction is held while publishing: with the embedded database a transaction holds the only backend, and the
 * in-process bus resolves `publish` only after the consumers (who need the database) are done.
 */
export class OutboxRelay {
  private readonly holder = randomUUID();
  private readonly schema: string;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private nudged = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.schema = schemaOf(options.dataSource);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Something was committed: publish it now. */
  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.releaseLease().catch(() => undefined);
  }

  /**
   * Publishes until the outbox is empty (or another replica holds the lease). Returns the number published.
   * Rows are deleted only once delivered; a batch is appended only after the one before it was accepted, so a
   * refused batch stops everything after it (the next drain starts again from the oldest row, in order).
   */
  async drain(): Promise<number> {
    const accepts = this.options.bus.publishAccepted !== undefined;
    const limit = accepts ? Math.max(1, this.options.batchesInFlight ?? 4) : 1;
    const inFlight = new Set<Promise<void>>();
    let total = 0;
    let failure: { error: unknown } | undefined;
    let after: string | undefined;
    try {
      while (!failure) {
        if (!(await this.acquireLease())) break;
        const rows = await this.selectBatch(after);
        if (rows.length === 0) break;
        after = rows[rows.length - 1].id;
        const { delivered } = await this.accept(rows);
        const settled: Promise<void> = delivered
          .then(() => this.deleteBatch(rows))
          .then(
            () => void (total += rows.length),
            (error: unknown) => void (failure ??= { error }),
          )
          .finally(() => inFlight.delete(settled));
        inFlight.add(settled);
        if (inFlight.size >= limit) await Promise.race(inFlight);
      }
    } finally {
      await Promise.all(inFlight);
    }
    if (failure) throw failure.error;
    return total;
  }

  /** Without `publishAccepted`, `delivered` is `publish` itself (the loop then waits for it: one batch at a time). */
  private async accept(rows: readonly OutboxRow[]): Promise<{ readonly delivered: Promise<void> }> {
    const events = rows.map((r) => ({ topic: r.topic, envelope: r.envelope }));
    const bus = this.options.bus;
    if (bus.publishAccepted) return bus.publishAccepted(events);
    return { delivered: bus.publish(events) };
  }

  private async run(): Promise<void> {
    const poll = this.options.pollIntervalMs ?? 500;
    let failures = 0;
    while (this.running) {
      this.nudged = false;
      try {
        await this.drain();
        failures = 0;
        if (!this.nudged) await this.sleep(poll);
      } catch (error) {
        failures++;
        const delay = Math.min(10_000, poll * 2 ** Math.min(failures, 5));
        this.options.logger.warn(
          { err: error, retryInMs: delay },
          'outbox relay could not publish; will retry',
        );
        await this.sleep(delay);
      }
    }
  }

  /** `ORDER BY o.id`, the bigint: a bare `id` would sort by the text alias ('10' before '9'), out of commit order. */
  private selectBatch(after: string | undefined): Promise<OutboxRow[]> {
    const limit = this.options.batchSize ?? 200;
    return after === undefined
      ? this.options.dataSource.query(
          `SELECT o.id::text AS id, o.topic, o.envelope FROM "${this.schema}".outbox o ORDER BY o.id LIMIT $1`,
          [limit],
        )
      : this.options.dataSource.query(
          `SELECT o.id::text AS id, o.topic, o.envelope FROM "${this.schema}".outbox o
           WHERE o.id > $2::bigint ORDER BY o.id LIMIT $1`,
          [limit, after],
        );
  }

  private async deleteBatch(rows: readonly OutboxRow[]): Promise<void> {
    await this.options.dataSource.query(`DELETE FROM "${this.schema}".outbox WHERE id = ANY($1::bigint[])`, [
      rows.map((r) => r.id),
    ]);
    this.options.metrics
      ?.counter('outbox_published_total', 'Events published from the outbox', ['topic'])
      .inc(rows.length);
  }

  private async acquireLease(): Promise<boolean> {
    const leaseMs = this.options.leaseMs ?? 15_000;
    const rows: unknown[] = await this.options.dataSource.query(
      `INSERT INTO "${this.schema}".outbox_lease (name, holder, expires_at)
       VALUES ('relay', $1, now() + ($2::int * interval '1 millisecond'))
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE outbox_lease.holder = EXCLUDED.holder OR outbox_lease.expires_at < now()
       RETURNING holder`,
      [this.holder, leaseMs],
    );
    return rows.length === 1;
  }

  private async releaseLease(): Promise<void> {
    await this.options.dataSource.query(
      `DELETE FROM "${this.schema}".outbox_lease WHERE name = 'relay' AND holder = $1`,
      [this.holder],
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
