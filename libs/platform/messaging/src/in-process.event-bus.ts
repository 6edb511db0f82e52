import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger, ServiceMetrics } from '@mailbridge/platform-observability';
import { BusClosedError } from './bus-closed.error';
import { BusMetrics } from './bus-metrics';
import {
  DeadLetterAdmin,
  ListDeadLettersOptions,
  ListedDeadLetter,
  RawRecord,
  replayHeaders,
} from './dead-letter-admin';
import type {
  BusHealth,
  BusStats,
  EventBus,
  OutgoingEvent,
  Subscription,
  SubscriptionSpec,
} from './event-bus.port';
import { deliverRecord, resolveRetryPolicy } from './event-delivery';
import { deliverInProcessBatch } from './in-process-batch-delivery';
import { InProcessEventBusOptions, partitionsOf } from './in-process-bus.options';
import { InProcessDeadLetters } from './in-process-dead-letters';
import { outgoingRecords } from './outgoing-records';
import {
  endOf,
  gate,
  Gate,
  GroupCursor,
  Member,
  PartitionLog,
  settleWaiters,
  trimLog,
  virtualPartition,
} from './in-process-partition-log';

export type { DeadLetterStore } from './in-process-dead-letters';
export { virtualPartition } from './in-process-partition-log';
export type { InProcessEventBusOptions } from './in-process-bus.options';

// Marks code running inside one of this bus's handlers (see publish).
const insideHandler = new AsyncLocalStorage<InProcessEventBus>();

/**
 * The embedded-mode bus: the same envelope, validation, ordering, retry and dead-letter semantics as Kafka,
 * inside one process. Each topic is an in-memory log of serialized events split into virtual partitions; each group
 * has its own cursor and starts from the beginning of the log (late subscribers miss nothing published earlier in the
 * process lifetime). Partitions are handled in parallel, the events of one partition strictly in order.
 *
 * Durability: the log is memory, so the publisher's copy (the outbox row) must outlive it until every group is done.
 * `publish` resolves only when every group known to the bus has handled the events or stored their dead letter; it
 * rejects with a BusClosedError when a group has no member left (it stopped) or the bus closes, and the outbox
 * publishes again later. A host starting consumers one by one builds the bus with `holdUntilOpened` and calls
 * `open()` once all have subscribed, so no publish resolves before the bus knows every group. A topic no group has
 * ever subscribed to resolves at once (the events wait in the log). A handler must not publish directly (it writes an
 * outbox); if one does anyway, that publish does not wait, since waiting on its own partition would never end.
 */
export class InProcessEventBus implements EventBus, DeadLetterAdmin {
  readonly transport = 'in-process' as const;
  private readonly logs = new Map<string, PartitionLog[]>();
  private readonly deadLetters: InProcessDeadLetters;
  private readonly start?: Gate;
  private opened: boolean;
  private readonly groups = new Map<string, GroupCursor>();
  private readonly partitions: number;
  private readonly retainHandled: number;
  private readonly metrics: BusMetrics;
  private readonly logger: Logger;
  private closed = false;
  private closing?: Promise<void>;

  constructor(private readonly options: InProcessEventBusOptions) {
    this.partitions = partitionsOf(options);
    this.retainHandled = options.retainHandled ?? 10_000;
    this.metrics = new BusMetrics(options.metrics, 'in-process');
    this.logger = options.logger.child({ component: 'in-process-bus' });
    resolveRetryPolicy(options.retry);
    if (options.holdUntilOpened) this.start = gate();
    this.opened = !this.start;
    this.deadLetters = new InProcessDeadLetters(options.deadLetterStore);
  }

  /** Every consumer group has subscribed: publishes held until now go ahead (see `holdUntilOpened`). */
  open(): void {
    this.opened = true;
    this.start?.open();
  }

  async publish(events: readonly OutgoingEvent[], owner?: string): Promise<void> {
    const { delivered } = await this.publishAccepted(events, owner);
    await delivered;
  }

  /**
   * `publish` in two steps: resolves once the events are appended (in call order, so a later call's events come
   * after them), with `delivered` for the rest of `publish`'s promise. Lets the outbox relay append its next batch
   * while consumers still handle this one, without ever appending a batch whose predecessor was refused.
   */
  async publishAccepted(
    events: readonly OutgoingEvent[],
    owner?: string,
  ): Promise<{ readonly delivered: Promise<void> }> {
    this.assertOpen();
    // Nothing is appended if an envelope is invalid; an outbox's JSON that is not goes as a record to dead-letter.
    const records = outgoingRecords(this.options.catalog, events, true);
    await this.start?.opened;
    this.assertOpen();
    const delivered = records.map(({ topic, record, validated }) => this.append(topic, record, validated));
    for (const { topic } of records) this.metrics.published(topic, 1, owner);
    return { delivered: this.awaitDelivery(delivered) };
  }

  /** Appends records as they are, without validation (dead-letter replay, tools, tests of what foreign producers do). */
  async publishRaw(topic: string, records: readonly RawRecord[]): Promise<void> {
    this.assertOpen();
    await this.start?.opened;
    this.assertOpen();
    await this.awaitDelivery(records.map((r) => this.append(topic, r)));
  }

  async subscribe(spec: SubscriptionSpec): Promise<Subscription> {
    this.assertOpen();
    if (spec.topics.length === 0) throw new Error(`Subscription ${spec.groupId} names no topic`);
    const member: Member = {
      spec,
      policy: resolveRetryPolicy(this.options.retry, spec.retry),
      abort: new AbortController(),
      inFlight: new Set(),
    };
    const cursors = [...new Set(spec.topics)].map((topic) => this.cursor(spec.groupId, topic));
    for (const cursor of cursors) {
      cursor.members.push(member);
      for (let p = 0; p < this.partitions; p++) this.kick(cursor, p);
    }
    this.logger.info({ groupId: spec.groupId, topics: spec.topics }, 'subscribed');

    let stopped: Promise<void> | undefined;
    return {
      stop: () => (stopped ??= this.leave(member, cursors)),
    };
  }

  async health(): Promise<BusHealth> {
    if (this.closed) return { ok: false, detail: 'closed' };
    const active = [...this.groups.values()].filter((g) => g.members.length > 0).length;
    if (!this.opened) return { ok: true, detail: 'in-process; starting' };
    return { ok: true, detail: `in-process; ${active} active group subscription(s)` };
  }

  /**
   * Lag = records in the log a group's cursor has not passed (log end minus cursor), per group and topic; dead letters
   * per original topic. `owner` keeps the groups (and their letters) named `<owner>.*`.
   */
  async stats(owner?: string): Promise<BusStats> {
    const mine = (groupId: string) => owner === undefined || groupId.startsWith(`${owner}.`);
    const consumerLag = [...this.groups.values()]
      .filter((cursor) => mine(cursor.groupId))
      .map((cursor) => ({
        groupId: cursor.groupId,
        topic: cursor.topic,
        lag: this.log(cursor.topic).reduce(
          (sum, log, p) => sum + Math.max(0, endOf(log) - cursor.next[p]),
          0,
        ),
      }));
    return { consumerLag, deadLetters: this.deadLetters.counts(mine) };
  }

  /**
   * This bus as one of the services sharing it sees it (embedded): its bus series go to `metrics` (groups
   * `<owner>.*`, its publishes), and its stats cover only its own groups. Closing the view does not close the bus.
   */
  forService(owner: string, metrics: ServiceMetrics): EventBus {
    this.metrics.addOwner(owner, metrics);
    return {
      transport: this.transport,
      publish: (events) => this.publish(events, owner),
      publishAccepted: (events) => this.publishAccepted(events, owner),
      subscribe: (spec) => this.subscribe(spec),
      health: () => this.health(),
      stats: () => this.stats(owner),
      close: async () => undefined,
    };
  }

  /** Stops every subscription (in-flight handlers finish first); publishers still waiting get a BusClosedError. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    this.start?.fail(new BusClosedError('The bus closed before it was opened'));
    const members = new Set([...this.groups.values()].flatMap((g) => g.members));
    for (const member of members) member.abort.abort();
    await Promise.all([...members].flatMap((m) => [...m.inFlight]));
    await Promise.all([...this.groups.values()].flatMap((g) => g.draining));
    for (const group of this.groups.values()) {
      group.members.length = 0;
      for (const waiters of group.waiters) {
        for (const w of waiters.splice(0))
          w.reject(new BusClosedError('The bus closed before the event was handled'));
      }
    }
  }

  async listDeadLetters(topic: string, options: ListDeadLettersOptions = {}): Promise<ListedDeadLetter[]> {
    return this.deadLetters.of(topic).slice(0, options.limit ?? 1_000);
  }

  async replayDeadLetters(
    topic: string,
    select: (letter: ListedDeadLetter) => boolean = () => true,
  ): Promise<ListedDeadLetter[]> {
    const letters = this.deadLetters.of(topic).filter(select);
    await this.publishRaw(
      topic,
      letters.map((l) => ({ key: l.key, value: l.value, headers: replayHeaders(l.headers, l.position) })),
    );
    this.logger.info({ topic, count: letters.length }, 'dead letters replayed');
    return letters;
  }

  private assertOpen(): void {
    if (this.closed) throw new BusClosedError();
  }

  private log(topic: string): PartitionLog[] {
    let log = this.logs.get(topic);
    if (!log) {
      log = Array.from({ length: this.partitions }, () => ({ base: 0, records: [] }));
      this.logs.set(topic, log);
    }
    return log;
  }

  private cursor(groupId: string, topic: string): GroupCursor {
    const id = `${groupId}\u0000${topic}`;
    let cursor = this.groups.get(id);
    if (!cursor) {
      cursor = {
        groupId,
        topic,
        members: [],
        // A new group starts at the oldest record still kept.
        next: this.log(topic).map((p) => p.base),
        draining: new Array<Promise<void> | undefined>(this.partitions).fill(undefined),
        waiters: Array.from({ length: this.partitions }, () => []),
      };
      this.groups.set(id, cursor);
    }
    return cursor;
  }

  /**
   * Appends one record and returns, per group of the topic, a promise settled once it is handled; rejected at once for
   * a group with no member (it stopped: the record waits in the log, the publisher keeps its copy).
   */
  private append(topic: string, raw: RawRecord, validated = false): Promise<void>[] {
    const partition = virtualPartition(raw.key, this.partitions);
    const log = this.log(topic)[partition];
    const offset = endOf(log);
    log.records.push({
      topic,
      partition,
      offset: String(offset),
      key: raw.key,
      value: raw.value,
      headers: { ...raw.headers },
      validated,
    });
    const pending: Promise<void>[] = [];
    for (const cursor of this.groups.values()) {
      if (cursor.topic !== topic) continue;
      if (cursor.members.length === 0) {
        pending.push(Promise.reject(new BusClosedError(`Consumer group ${cursor.groupId} has no member`)));
        continue;
      }
      pending.push(
        new Promise<void>((resolve, reject) => cursor.waiters[partition].push({ offset, resolve, reject })),
      );
      this.kick(cursor, partition);
    }
    return pending;
  }

  private async awaitDelivery(pending: Promise<void>[][]): Promise<void> {
    const all = pending.flat();
    if (insideHandler.getStore() === this) {
      // Waiting here could wait on the very partition this handler occupies: never block.
      this.logger.debug('publish called from inside a handler; not waiting for delivery');
      for (const p of all) void p.catch(() => undefined);
      return;
    }
    await Promise.all(all);
  }

  /** Starts draining a partition for a group unless it is already being drained. Never synchronously. */
  private kick(cursor: GroupCursor, partition: number): void {
    if (cursor.draining[partition] || this.closed) return;
    if (cursor.next[partition] >= endOf(this.log(cursor.topic)[partition])) return;
    // setImmediate: a handler never runs inside publish's call stack.
    cursor.draining[partition] = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.drain(cursor, partition))
      .catch((error: unknown) =>
        this.logger.error(
          { err: error, groupId: cursor.groupId, topic: cursor.topic, partition },
          'drain failed',
        ),
      )
      .finally(() => {
        cursor.draining[partition] = undefined;
        // Something may have arrived (or a member joined) while the last await settled.
        this.kick(cursor, partition);
      });
  }

  private async drain(cursor: GroupCursor, partition: number): Promise<void> {
    const log = this.log(cursor.topic)[partition];
    // Records below this offset failed as a batch: they go one at a time (the batch contract's fall-back).
    let singlesUntil = -1;
    while (!this.closed && cursor.members.length > 0 && cursor.next[partition] < endOf(log)) {
      const record = log.records[cursor.next[partition] - log.base];
      // Partitions are shared among the group's members, as Kafka assigns them.
      const member = cursor.members[partition % cursor.members.length];
      if (member.abort.signal.aborted) return;
      if (member.spec.batch && cursor.next[partition] >= singlesUntil) {
        const batched = await deliverInProcessBatch(log, cursor, partition, member, {
          catalog: this.options.catalog,
          logger: this.logger,
          metrics: this.metrics,
          inHandler: (run) => insideHandler.run(this, run),
        });
        if (batched > 0) {
          this.advance(cursor, partition, batched);
          continue;
        }
        if (batched < 0) singlesUntil = cursor.next[partition] - batched;
      }
      const delivery = deliverRecord(record, {
        catalog: this.options.catalog,
        groupId: cursor.groupId,
        handler: (event, context) => insideHandler.run(this, () => member.spec.handler(event, context)),
        policy: member.policy,
        logger: this.logger,
        metrics: this.metrics,
        signal: member.abort.signal,
      });
      member.inFlight.add(delivery);
      let outcome;
      try {
        outcome = await delivery;
      } finally {
        member.inFlight.delete(delivery);
      }
      if (outcome.status === 'aborted') continue; // the member left: the next member (if any) gets the record again
      // Stored first: until then the publisher's copy is the only one (a failed store retries the record).
      if (outcome.status === 'dead-lettered') await this.deadLetters.add(cursor.topic, outcome.deadLetter);
      this.advance(cursor, partition, 1);
    }
  }

  /** The cursor moved past `count` records: their publishers are settled, history beyond retention dropped. */
  private advance(cursor: GroupCursor, partition: number, count: number): void {
    cursor.next[partition] += count;
    settleWaiters(cursor, partition);
    let handled = Infinity;
    for (const other of this.groups.values()) {
      if (other.topic === cursor.topic) handled = Math.min(handled, other.next[partition]);
    }
    trimLog(this.log(cursor.topic)[partition], handled, this.retainHandled);
  }

  private async leave(member: Member, cursors: readonly GroupCursor[]): Promise<void> {
    member.abort.abort();
    for (const cursor of cursors) {
      const i = cursor.members.indexOf(member);
      if (i >= 0) cursor.members.splice(i, 1);
    }
    // Graceful: the handler that is running finishes (and its outcome is recorded) before stop resolves.
    await Promise.all([...member.inFlight]);
    for (const cursor of cursors) {
      if (cursor.members.length > 0) {
        for (let p = 0; p < this.partitions; p++) this.kick(cursor, p);
        continue;
      }
      // No one left in the group: its pending publishers are told the events were not handled, so they keep their
      // copy (the outbox row) and publish again; the events also wait in the log for the group's next subscription.
      await Promise.all(cursor.draining);
      for (const waiters of cursor.waiters)
        for (const w of waiters.splice(0))
          w.reject(new BusClosedError(`Consumer group ${cursor.groupId} stopped before handling the event`));
    }
    this.logger.info({ groupId: member.spec.groupId, topics: member.spec.topics }, 'unsubscribed');
  }
}
