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

  /** Publishes until the outbox is empty (or another replica holds the lease). Returns the number published. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      if (!(await this.acquireLease())) return total;
      const n = await this.publishBatch();
      total += n;
      if (n === 0) return total;
    }
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

  private async publishBatch(): Promise<number> {
    const rows: OutboxRow[] = await this.options.dataSource.query(
      `SELECT id::text AS id, topic, envelope FROM "${this.schema}".outbox ORDER BY id LIMIT $1`,
      [this.options.batchSize ?? 200],
    );
    if (rows.length === 0) return 0;
    await this.options.bus.publish(rows.map((r) => ({ topic: r.topic, envelope: r.envelope })));
    await this.options.dataSource.query(`DELETE FROM "${this.schema}".outbox WHERE id = ANY($1::bigint[])`, [
      rows.map((r) => r.id),
    ]);
    this.options.metrics
      ?.counter('outbox_published_total', 'Events published from the outbox', ['topic'])
      .inc(rows.length);
    return rows.length;
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
