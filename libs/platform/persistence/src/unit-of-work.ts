import { DataSource, EntityManager } from 'typeorm';
import type { EventCatalog, EventDefinition, EventEnvelope, PayloadOf } from '@mailbridge/contracts';
import { currentContext, type Logger } from '@mailbridge/platform-observability';
import { schemaOf } from './data-source.factory';
import { queryPrepared } from './query-rows';

export interface TransactionContext {
  readonly manager: EntityManager;
  /**
   * Records an event in the outbox, in this transaction: it is published if and only if the transaction commits.
   * The payload is validated now, so a bad event fails the operation instead of reaching a consumer.
   */
  emit<D extends EventDefinition>(def: D, payload: PayloadOf<D>): EventEnvelope<PayloadOf<D>>;
  /**
   * Runs `effect` once this transaction has committed, never if it rolls back: for counters and other in-memory
   * effects, so a batch that rolls back and is redelivered one event at a time counts each event once. It must not
   * throw (the work is committed by then).
   */
  afterCommit(effect: () => void): void;
}

/**
 * Ids of a batch to leave alone (no work, no inbox row): the ids the named consumer group quarantined in this schema,
 * checked inside the inbox insert (no statement of its own).
 */
export interface BatchSkip {
  readonly quarantinedBy: string;
}

interface PendingEvent {
  readonly topic: string;
  readonly envelope: EventEnvelope;
  /** Serialized at emit: what the outbox keeps is what was validated, whatever the caller does with the object. */
  readonly json: string;
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
    private readonly logger?: Logger,
  ) {}

  private get schema(): string {
    return schemaOf(this.dataSource);
  }

  async run<T>(work: (tx: TransactionContext) => Promise<T>): Promise<T> {
    const { result } = await this.transaction(work);
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
    const { result } = await this.transaction(async (tx) => {
      const inserted: unknown[] = await queryPrepared(
        tx.manager,
        `INSERT INTO "${this.schema}".inbox (consumer, event_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING event_id`,
        [consumer, event.id],
      );
      if (inserted.length === 0) return false;
      await work(tx);
      return true;
    });
    return result;
  }

  /**
   * `handleOnce` for a batch of incoming events, in ONE transaction: the inbox rows of all of them in one statement,
   * then `work` once with the events not handled before (in the given order, each id once), then the outbox rows of
   * everything `work` emitted in one insert. `skip` (optional), `{ quarantinedBy: group }`, leaves alone, inbox
   * included, the ids that group ever quarantined (this schema's `quarantine`), folded into the inbox insert itself
   * (no statement of its own: issue 16). Any error rolls back the whole batch: nothing of it is recorded. Returns how
   * many events `work` received.
   */
  async handleBatch<E extends Pick<EventEnvelope, 'id'>>(
    consumer: string,
    events: readonly E[],
    work: (fresh: readonly E[], tx: TransactionContext) => Promise<void>,
    skip?: BatchSkip,
  ): Promise<number> {
    if (events.length === 0) return 0;
    const { result } = await this.transaction(async (tx) => {
      // PostgreSQL answers uuids in lower case; an id may arrive in upper case (still a valid uuid).
      const idOf = (e: E) => e.id.toLowerCase();
      const ids = [...new Set(events.map(idOf))];
      // The quarantine check is a probe of its unique key per event whatever the plan: `OFFSET 0` keeps the EXISTS a
      // subplan (never an anti join), as the prepared statement's generic plan, made while the quarantine was empty,
      // would otherwise scan all of the group's quarantined ids for every event once the table has grown.
      const inserted: Array<{ event_id: string }> = skip
        ? await queryPrepared(
            tx.manager,
            `INSERT INTO "${this.schema}".inbox (consumer, event_id)
             SELECT $1, e.id FROM unnest($2::uuid[]) AS e(id)
             WHERE NOT EXISTS (SELECT 1 FROM "${this.schema}".quarantine q
                               WHERE q.consumer_group = $3 AND q.event_id = e.id OFFSET 0)
             ON CONFLICT DO NOTHING RETURNING event_id`,
            [consumer, ids, skip.quarantinedBy],
          )
        : await queryPrepared(
            tx.manager,
            `INSERT INTO "${this.schema}".inbox (consumer, event_id)
             SELECT $1, id FROM unnest($2::uuid[]) AS id
             ON CONFLICT DO NOTHING RETURNING event_id`,
            [consumer, ids],
          );
      const fresh = new Set(inserted.map((r) => r.event_id));
      const todo = events.filter((e) => fresh.delete(idOf(e))); // delete: a repeated id is handled once
      if (todo.length > 0) await work(todo, tx);
      return todo.length;
    });
    return result;
  }

  private async transaction<T>(
    work: (tx: TransactionContext) => Promise<T>,
  ): Promise<{ result: T; wroteEvents: boolean }> {
    let wroteEvents = false;
    let effects: Array<() => void> = [];
    const result = await this.dataSource.transaction(async (manager) => {
      const pending: PendingEvent[] = [];
      effects = []; // a retried callback starts over
      const tx: TransactionContext = {
        manager,
        afterCommit: (effect) => effects.push(effect),
        emit: (def, payload) => {
          // Read now, not at the transaction's start: a batch runs each event in its own correlation context.
          const ctx = currentContext();
          const envelope = this.catalog.create(def, payload, {
            correlationId: ctx?.correlationId,
            traceparent: ctx?.traceparent,
          });
          pending.push({ topic: def.topic, envelope, json: JSON.stringify(envelope) });
          return envelope;
        },
      };
      const value = await work(tx);
      if (pending.length > 0) {
        // One statement for the whole batch: no per-row round trips on the hot path. `json`, the column's type (no
        // jsonb tree built per event: PlatformOutboxEnvelopeJson1732660000000), its elements keep their text. The
        // envelopes go as one JSON array, not a `json[]` (the driver escaped every quote of every envelope, issue 16);
        // rows are inserted in emit order (the ids, hence the relay's order, follow it).
        await queryPrepared(
          manager,
          `INSERT INTO "${this.schema}".outbox (event_id, topic, event_key, envelope)
           SELECT u.id, u.topic, u.key, e.envelope
           FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS u(id, topic, key, n)
           JOIN json_array_elements($4::json) WITH ORDINALITY AS e(envelope, n) USING (n)
           ORDER BY n`,
          [
            pending.map((p) => p.envelope.id),
            pending.map((p) => p.topic),
            pending.map((p) => p.envelope.key),
            `[${pending.map((p) => p.json).join(',')}]`,
          ],
        );
        wroteEvents = true;
      }
      return value;
    });
    // Reached only after the commit (a rollback rejected above and its effects are dropped). The relay is nudged
    // first, and an effect that throws is only reported: the work is committed, so it must not read as failed.
    if (wroteEvents) this.onEventsCommitted();
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.logger?.error({ err: error }, 'an after-commit effect failed; the committed work stands');
      }
    }
    return { result, wroteEvents };
  }
}
