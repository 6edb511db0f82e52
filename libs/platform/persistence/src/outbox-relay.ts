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
  /** The envelope's text in the outbox (`catalog.create` validated it): the bus sends it as it is. */
  json: string;
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
  private readonly leaseMs: number;
  /** `performance.now()` from which the lease must be renewed before the next batch (0: not held). */
  private renewLeaseAt = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.schema = schemaOf(options.dataSource);
    this.leaseMs = options.leaseMs ?? 15_000;
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
   * The ids delivered so far are deleted by the next batch's select (one statement per batch, issue 16), and what
   * is left by one delete when the drain ends; a crash in between only republishes them (consumers deduplicate).
   */
  async drain(): Promise<number> {
    const accepts = this.options.bus.publishAccepted !== undefined;
    const limit = accepts ? Math.max(1, this.options.batchesInFlight ?? 4) : 1;
    const inFlight = new Set<Promise<void>>();
    const delivered: OutboxRow[] = [];
    let total = 0;
    let failure: { error: unknown } | undefined;
    let after: string | undefined;
    try {
      while (!failure) {
        if (!(await this.holdLease())) break;
        const deleting = delivered.splice(0);
        const rows = await this.selectBatch(after, deleting).catch((error: unknown) => {
          delivered.unshift(...deleting); // not deleted: the last delete below tries again
          throw error;
        });
        if (rows.length === 0) break;
        after = rows[rows.length - 1].id;
        const accepted = await this.accept(rows);
        const settled: Promise<void> = accepted.delivered
          .then(
            () => {
              // Counted once delivered (the metric's meaning); the row itself goes with a later statement.
              delivered.push(...rows);
              total += rows.length;
              this.countPublished(rows.length);
            },
            (error: unknown) => void (failure ??= { error }),
          )
          .finally(() => inFlight.delete(settled));
        inFlight.add(settled);
        if (inFlight.size >= limit) await Promise.race(inFlight);
      }
    } finally {
      await Promise.all(inFlight);
      if (delivered.length > 0) {
        const rows = delivered.splice(0);
        await this.deleteBatch(rows);
      }
    }
    if (failure) throw failure.error;
    return total;
  }

  /** Without `publishAccepted`, `delivered` is `publish` itself (the loop then waits for it: one batch at a time). */
  private async accept(rows: readonly OutboxRow[]): Promise<{ readonly delivered: Promise<void> }> {
    const events = rows.map((r) => ({ topic: r.topic, envelope: r.envelope, json: r.json }));
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

  /**
   * The next batch after `after`, deleting the rows of `deleting` (delivered) in the same statement. `ORDER BY o.id`,
   * the bigint: a bare `id` would sort by the text alias ('10' before '9'), out of commit order. The CTE's delete
   * runs to completion whatever the select reads; its rows are all at or below `after`, so the select skips them.
   */
  private async selectBatch(after: string | undefined, deleting: readonly OutboxRow[]): Promise<OutboxRow[]> {
    const limit = this.options.batchSize ?? 200;
    const table = `"${this.schema}".outbox`;
    // The envelope as text (a `json` column keeps what was written): parsed here once for its headers, sent as it is.
    const columns = `o.id::text AS id, o.topic, o.envelope::text AS json`;
    const select =
      after === undefined
        ? `SELECT ${columns} FROM ${table} o ORDER BY o.id LIMIT $1`
        : `SELECT ${columns} FROM ${table} o WHERE o.id > $2::bigint ORDER BY o.id LIMIT $1`;
    const params: unknown[] = after === undefined ? [limit] : [limit, after];
    // Only a drain that selected before has rows to delete, so `after` is set and the ids are $3.
    const rows: Array<Omit<OutboxRow, 'envelope'>> =
      deleting.length === 0
        ? await this.options.dataSource.query(select, params)
        : await this.options.dataSource.query(
            `WITH published AS (DELETE FROM ${table} WHERE id = ANY($3::bigint[])) ${select}`,
            [...params, deleting.map((r) => r.id)],
          );
    return rows.map((r) => ({ ...r, envelope: JSON.parse(r.json) as EventEnvelope }));
  }

  private async deleteBatch(rows: readonly OutboxRow[]): Promise<void> {
    await this.options.dataSource.query(`DELETE FROM "${this.schema}".outbox WHERE id = ANY($1::bigint[])`, [
      rows.map((r) => r.id),
    ]);
  }

  private countPublished(count: number): void {
    if (count === 0) return;
    this.options.metrics
      ?.counter('outbox_published_total', 'Events published from the outbox', ['topic'])
      .inc(count);
  }

  /**
   * True while this relay holds the lease. It is renewed only once a third of it has passed since the last renewal
   * was sent (the database's expiry is at least that send time + `leaseMs`), not before every batch and every idle
   * poll: each renewal is a write and a WAL flush (issue 16).
   */
  private async holdLease(): Promise<boolean> {
    if (performance.now() < this.renewLeaseAt) return true;
    const sent = performance.now();
    const held = await this.acquireLease();
    this.renewLeaseAt = held ? sent + this.leaseMs / 3 : 0;
    return held;
  }

  private async acquireLease(): Promise<boolean> {
    const rows: unknown[] = await this.options.dataSource.query(
      `INSERT INTO "${this.schema}".outbox_lease (name, holder, expires_at)
       VALUES ('relay', $1, now() + ($2::int * interval '1 millisecond'))
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE outbox_lease.holder = EXCLUDED.holder OR outbox_lease.expires_at < now()
       RETURNING holder`,
      [this.holder, this.leaseMs],
    );
    return rows.length === 1;
  }

  private async releaseLease(): Promise<void> {
    this.renewLeaseAt = 0;
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
