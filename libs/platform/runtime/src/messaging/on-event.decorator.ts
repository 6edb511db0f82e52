import { SetMetadata } from '@nestjs/common';
import type { EventDefinition, EventEnvelope, PayloadOf, TopicName } from '@mailbridge/contracts';
import type { DeliveryContext, RetryPolicy } from '@mailbridge/platform-messaging';
import type { TransactionContext } from '@mailbridge/platform-persistence';

export const ON_EVENT_METADATA = 'mailbridge:on-event';

/** One definition, or several of the same topic (e.g. `[sendSucceededV1, sendFailedV1]`). */
export type EventDefinitions = EventDefinition | readonly EventDefinition[];

type DefinitionOf<Ds> = Ds extends readonly (infer D)[] ? D : Ds;
type EnvelopeOfDefinition<D> =
  D extends EventDefinition<infer T> ? EventEnvelope<PayloadOf<D>> & { readonly type: T } : never;

/**
 * The envelope a handler of these definitions receives: one of their events, payload typed. With several definitions
 * it is a union discriminated by `type` (`if (event.type === connectionUpdatedV1.type)` narrows the payload).
 */
export type EventOf<Ds extends EventDefinitions> = EnvelopeOfDefinition<DefinitionOf<Ds>>;

/** What an `{ transaction: false }` handler gets instead of a transaction. */
export interface ConsumerContext {
  /**
   * The handler's inbox and unit of work, keyed by its group: `work` runs in one transaction with the inbox row of
   * this event, at most once. Returns false when the event had already been handled.
   */
  handleOnce(work: (tx: TransactionContext) => Promise<void>): Promise<boolean>;
  /** Which attempt this is, of how many (e.g. to report a final failure on the last one). */
  readonly delivery: DeliveryContext;
}

export interface OnEventOptions {
  /** The consumer group within the service; the full group id is `<service>.<group>`, and the inbox is keyed by it. */
  readonly group: string;
  readonly retry?: Partial<RetryPolicy>;
  readonly transaction?: true;
  /**
   * The handler takes a list: `(events, tx)`, all new events of a batch in log order in one transaction (a list of
   * one on the single path). For hot paths that load and write set-based (issue 16).
   */
  readonly batch?: false;
}

/** `@OnEvent(def, { group, batch: true })`: the handler is `(events, tx)` (see OnEventOptions.batch). */
export interface BatchOptions extends Omit<OnEventOptions, 'batch'> {
  readonly batch: true;
}

/**
 * The rare opt-out: the handler owns its transaction (`consumer.handleOnce`), for work that must happen outside it
 * (a call to another service or a provider, a retry with what that call answered, a nudge after the commit).
 */
export interface OutsideTransactionOptions extends Omit<OnEventOptions, 'transaction' | 'batch'> {
  readonly transaction: false;
}

/** What the platform reads back from a decorated method (EventSubscriptions). */
export interface OnEventMetadata {
  readonly topic: TopicName;
  readonly definitions: readonly EventDefinition[];
  readonly group: string;
  readonly retry?: Partial<RetryPolicy>;
  readonly transaction: boolean;
  /** The method takes a list of events (BatchOptions). */
  readonly batch: boolean;
}

/*
 * The handler must accept every event its definitions deliver. Method parameters are checked bivariantly by
 * TypeScript, so a handler typed for fewer (or other) events would slip through a plain signature check; comparing
 * the parameter types explicitly makes that a compile error on the decorator.
 */
type Handler<Second> = (event: never, second: Second) => Promise<void>;
type Checked<H, E, Second> = H extends (event: infer P, second: infer S) => Promise<void>
  ? [E] extends [P]
    ? [Second] extends [S]
      ? unknown
      : { error: 'the second parameter must be what this binding passes'; passes: Second }
    : { error: 'the handler must accept every event of its definitions'; accepts: E }
  : { error: 'a handler is (event, tx | consumer) => Promise<void>' };

type BatchChecked<H, E> = H extends (events: infer P, tx: infer S) => Promise<void>
  ? [readonly E[]] extends [P]
    ? [TransactionContext] extends [S]
      ? unknown
      : { error: 'the second parameter must be the transaction' }
    : { error: 'the handler must accept a list of every event of its definitions'; accepts: readonly E[] }
  : { error: 'a batch handler is (events, tx) => Promise<void>' };

type BatchBindingDecorator<E> = <H extends Handler<TransactionContext>>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<H> & BatchChecked<H, E>,
) => void;

type BindingDecorator<E, Second> = <H extends Handler<Second>>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<H> & Checked<H, E, Second>,
) => void;

/**
 * Binds a provider method to events: `@OnEvent(def | [defs], { group })`. The method receives only events of its
 * definitions, already validated, and typed from them (other events on the topic are acknowledged without running it),
 * inside the unit of work of its group's inbox: `(event, tx)`, the effect and the inbox row commit together. The bus
 * owns retries and offsets; the platform quarantines an event after its last failed attempt (EventQuarantine).
 * `{ transaction: false }` hands `(event, consumer)` instead — see OutsideTransactionOptions; `{ batch: true }` hands
 * `(events, tx)` — see BatchOptions. Every transactional consumer gets batches from the bus (one transaction per batch,
 * the handler per event inside it; EventSubscriptions), falling back to one event at a time when a batch fails.
 */
export function OnEvent<const Ds extends EventDefinitions>(
  definitions: Ds,
  options: OnEventOptions,
): BindingDecorator<EventOf<Ds>, TransactionContext>;
export function OnEvent<const Ds extends EventDefinitions>(
  definitions: Ds,
  options: OutsideTransactionOptions,
): BindingDecorator<EventOf<Ds>, ConsumerContext>;
export function OnEvent<const Ds extends EventDefinitions>(
  definitions: Ds,
  options: BatchOptions,
): BatchBindingDecorator<EventOf<Ds>>;
export function OnEvent(
  definitions: EventDefinitions,
  options: OnEventOptions | OutsideTransactionOptions | BatchOptions,
): (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor) => void {
  const list: readonly EventDefinition[] = Array.isArray(definitions)
    ? (definitions as readonly EventDefinition[])
    : [definitions as EventDefinition];
  const topics = [...new Set(list.map((d) => d.topic))];
  if (topics.length !== 1) {
    throw new Error(
      `@OnEvent group ${options.group}: definitions must share one topic, got ${topics.join(', ') || 'none'}`,
    );
  }
  const metadata: OnEventMetadata = {
    topic: topics[0],
    definitions: list,
    group: options.group,
    retry: options.retry,
    transaction: options.transaction !== false,
    batch: 'batch' in options && options.batch === true,
  };
  return SetMetadata(ON_EVENT_METADATA, metadata);
}

export const ON_EVENT_BATCH_METADATA = 'mailbridge:on-event-batch';

/** What the platform reads back from an @OnEventBatch method. */
export interface OnEventBatchMetadata {
  readonly topic: TopicName;
  readonly definitions: readonly EventDefinition[];
  readonly group: string;
}

/**
 * The batch path of a single-event consumer (`@OnEvent(def, { group })`, opted out or not, in the same class, same
 * group): `(events, tx)`, the new events of a batch in one transaction with their inbox rows, like `batch: true`. When
 * the batch cannot be handled as a whole (an opted-out consumer's call outside any transaction, a poison event), it
 * throws: the batch rolls back and its events go one at a time through the `@OnEvent` method.
 */
export function OnEventBatch<const Ds extends EventDefinitions>(
  definitions: Ds,
  options: { readonly group: string },
): BatchBindingDecorator<EventOf<Ds>>;
export function OnEventBatch(
  definitions: EventDefinitions,
  options: { readonly group: string },
): (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor) => void {
  const list: readonly EventDefinition[] = Array.isArray(definitions)
    ? (definitions as readonly EventDefinition[])
    : [definitions as EventDefinition];
  const topics = [...new Set(list.map((d) => d.topic))];
  if (topics.length !== 1) {
    throw new Error(
      `@OnEventBatch group ${options.group}: definitions must share one topic, got ${topics.join(', ') || 'none'}`,
    );
  }
  const metadata: OnEventBatchMetadata = { topic: topics[0], definitions: list, group: options.group };
  return SetMetadata(ON_EVENT_BATCH_METADATA, metadata);
}
