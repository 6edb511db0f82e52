import { DataSource } from 'typeorm';
import type { Logger } from '@mailbridge/platform-observability';
import { schemaOf } from './data-source.factory';

/** Rows of one table of the service's schema that are only useful for a while. */
export interface RetentionRule {
  /** Table name in the service's own schema. */
  readonly table: string;
  /** Its primary key, which batches are deleted by. */
  readonly keyColumns: readonly string[];
  /** When the row was written (timestamptz, indexed). */
  readonly writtenAtColumn: string;
  /** Rows older than this are deleted. Must outlive every use of the row (see each rule's setting). */
  readonly retentionHours: number;
}

/** The inbox (event ids already handled, per consumer): a redelivery older than the topics' retention cannot happen. */
export function inboxRetention(retentionDays: number): RetentionRule {
  return {
    table: 'inbox',
    keyColumns: ['consumer', 'event_id'],
    writtenAtColumn: 'processed_at',
    retentionHours: retentionDays * 24,
  };
}

export interface RetentionPrunerOptions {
  readonly dataSource: DataSource;
  readonly logger: Logger;
  readonly rules: readonly RetentionRule[];
  readonly intervalMs?: number;
  readonly batchSize?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Deletes rows past their retention (the inbox, idempotency keys, ...) in small batches, so a large backlog never
 * holds long locks. Runs hourly with a random first delay; replicas may prune at once, deletes commute.
 */
export class RetentionPruner {
  private readonly schema: string;
  private readonly rules: RetentionRule[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  /** Set by stop(): a long round ends after its current batch; the next start picks up what is left. */
  private stopping = false;

  constructor(private readonly options: RetentionPrunerOptions) {
    this.schema = schemaOf(options.dataSource);
    this.add(...options.rules);
  }

  /** More rules (a service's own tables); before start(). */
  add(...rules: RetentionRule[]): void {
    for (const rule of rules) {
      for (const name of [rule.table, rule.writtenAtColumn, ...rule.keyColumns]) {
        // Names are spliced into SQL: only plain identifiers from code, never input.
        if (!IDENTIFIER.test(name)) throw new Error(`Retention rule: "${name}" is not a plain identifier`);
      }
      if (!(rule.retentionHours > 0) || rule.keyColumns.length === 0) {
        throw new Error(`Retention rule for ${rule.table}: needs a key and a positive retention`);
      }
      this.rules.push(rule);
    }
  }

  start(): void {
    if (this.timer) return;
    this.stopping = false;
    const interval = this.options.intervalMs ?? 3_600_000;
    // Replicas started together do not all prune at the same moment.
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.running = this.pruneOnce()
          .catch((error: unknown) => {
            this.options.logger.warn(
              { err: (error as Error).message },
              'retention pruning failed; next round retries',
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
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Deletes every expired row of every rule; returns how many. */
  async pruneOnce(): Promise<number> {
    let total = 0;
    for (const rule of this.rules) {
      if (this.stopping) break;
      const pruned = await this.pruneTable(rule);
      if (pruned) this.options.logger.info({ table: rule.table, pruned }, 'retention: expired rows deleted');
      total += pruned;
    }
    return total;
  }

  private async pruneTable(rule: RetentionRule): Promise<number> {
    const batch = this.options.batchSize ?? 5_000;
    const table = `"${this.schema}"."${rule.table}"`;
    const keys = rule.keyColumns.map((c) => `"${c}"`).join(', ');
    const join = rule.keyColumns.map((c) => `t."${c}" = e."${c}"`).join(' AND ');
    let total = 0;
    for (;;) {
      const rows: Array<{ n: number }> = await this.options.dataSource.query(
        `WITH expired AS (
           SELECT ${keys} FROM ${table}
            WHERE "${rule.writtenAtColumn}" < now() - make_interval(hours => $1::int)
            LIMIT $2
         ), gone AS (
           DELETE FROM ${table} t USING expired e WHERE ${join}
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM gone`,
        [Math.ceil(rule.retentionHours), batch],
      );
      const n = rows[0]?.n ?? 0;
      total += n;
      if (n < batch || this.stopping) return total;
    }
  }
}
