import { DataSource, EntityManager } from 'typeorm';
import type { EventCatalog, EventDefinition, EventEnvelope, PayloadOf } from '@mailbridge/contracts';
import { currentContext } from '@mailbridge/platform-observability';
import { schemaOf } from './data-source.factory';

export interface TransactionContext {
  readonly manager: EntityManager;
  /**
   * Records an event in the outbox, in this transaction: it is published if and only if the transaction commits.
   * The payload is validated now, so a bad event fails the operation instead of reaching a consumer.
   */
  emit<D extends EventDefinition>(def: D, payload: PayloadOf<D>): EventEnvelope<PayloadOf<D>>;
}

interface PendingEvent {
  readonly topic: string;
  readonly envelope: EventEnvelope;
}

/**
 * A service's only way to change state: the change, the events it causes (outbox) and, for a consumer, the id of the
 * event that caused it (inbox) commit together or not at all. Never await the bus inside `work`.
 */
export class UnitOfWork {
  constructor(
    private readonly dataSource: DataSource,
    private readonly catalog: EventCatalog,
    /** Called after a commit that wrote events, so the relay publishes now instead of at its next poll. */
    private readonly onEventsCommitted: () => void = () => undefined,
  ) {}

  private get schema(): string {
    return schemaOf(this.dataSource);
  }

  async run<T>(work: (tx: TransactionContext) => Promise<T>): Promise<T> {
    const { result, wroteEvents } = await this.transaction(work);
    if (wroteEvents) this.onEventsCommitted();
    return result;
  }

  /**
   * Runs `work` for an incoming event at most once per consumer: the event id is recorded in the inbox in the same
   * transaction, so a redelivered event (Kafka rebalance, crash before commit, DLQ replay) has no second effect.
   * Returns false when the event had already been handled.
   */
  async handleOnce(
    consumer: string,
    event: Pick<EventEnvelope, 'id'>,
    work: (tx: TransactionContext) => Promise<void>,
  ): Promise<boolean> {
    const { result, wroteEvents } = await this.transaction(async (tx) => {
      const inserted: unknown[] = await tx.manager.query(
        `INSERT INTO "${this.schema}".inbox (consumer, event_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [consumer, event.id],
      );
      if (inserted.length === 0) return false;
      await work(tx);
      return true;
    });
    if (wroteEvents) this.onEventsCommitted();
    return result;
  }

  private async transaction<T>(
    work: (tx: TransactionContext) => Promise<T>,
  ): Promise<{ result: T; wroteEvents: boolean }> {
    let wroteEvents = false;
    const result = await this.dataSource.transaction(async (manager) => {
      const pending: PendingEvent[] = [];
      const ctx = currentContext();
      const tx: TransactionContext = {
        manager,
        emit: (def, payload) => {
          const envelope = this.catalog.create(def, payload, {
            correlationId: ctx?.correlationId,
            traceparent: ctx?.traceparent,
          });
          pending.push({ topic: def.topic, envelope });
          return envelope;
        },
      };
      const value = await work(tx);
      if (pending.length > 0) {
        // One statement for the whole batch: no per-row round trips on the hot path.
        await manager.query(
          `INSERT INTO "${this.schema}".outbox (event_id, topic, event_key, envelope)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[])`,
          [
            pending.map((p) => p.envelope.id),
            pending.map((p) => p.topic),
            pending.map((p) => p.envelope.key),
            pending.map((p) => JSON.stringify(p.envelope)),
          ],
        );
        wroteEvents = true;
      }
      return value;
    });
    return { result, wroteEvents };
  }
}
