import { randomUUID } from 'node:crypto';
import { EventCatalog, EventEnvelope, EventValidationError } from '@mailbridge/contracts';
import { currentContext, ServiceMetrics } from '@mailbridge/platform-observability';
import { expectEventually } from '@mailbridge/testing';
import { BusClosedError } from '../bus-closed.error';
import type { DeadLetterAdmin, RawRecord } from '../dead-letter-admin';
import {
  DeadLetterHeaders,
  DeliveryContext,
  EventBus,
  OutgoingEvent,
  PermanentEventError,
  RetryPolicy,
  subscribeConsumers,
  Subscription,
} from '../event-bus.port';
import { PingPayload, TestEvents } from './test-events';

/** What the contract drives: the port, the dead-letter admin, and a raw producer for what validation would refuse. */
export interface ContractBus extends EventBus, DeadLetterAdmin {
  publishRaw(topic: string, records: readonly RawRecord[]): Promise<void>;
  /** The host's start barrier (see ContractBusSetup.startBarrier); a bus without one has nothing to open. */
  open?(): void;
}

export interface ContractBusSetup {
  readonly catalog: EventCatalog;
  readonly retry: Partial<RetryPolicy>;
  readonly metrics: ServiceMetrics;
  /**
   * Build the bus the way a host that starts its consumers one by one does: publishes wait until `open()` is called
   * once every group has subscribed (in-process: `holdUntilOpened`; Kafka ignores it, its log is durable already).
   */
  readonly startBarrier?: boolean;
}

export type ContractSection = 'delivery' | 'failures' | 'durability' | 'batch';

export interface ContractOptions {
  /** The sections to run (the Kafka suite spreads them over files to keep each one quick). */
  readonly sections?: readonly ContractSection[];
  /** How long an eventual assertion waits (Kafka group joins take seconds on the mock cluster). */
  readonly eventuallyMs?: number;
}

export const CONTRACT_SCENARIOS = [
  'round-trip',
  'as-written',
  'written-invalid',
  'ordering',
  'parallel',
  'two-groups',
  'late-subscriber',
  'correlation',
  'graceful-stop',
  'health',
  'retry',
  'poison',
  'permanent',
  'invalid',
  'invalid-publish',
  'redelivery',
  'replay',
  'metrics',
  'kill-before-subscribe',
  'kill-after-stop',
  'batch-order',
  'batch-size',
  'batch-isolation',
  'batch-crash',
  'shared-one',
  'shared-two',
] as const;

/** Keys that cover all 4 partitions of a mock-cluster topic (kafkajs' murmur2) and several virtual ones. */
const SPREAD_KEYS = ['k-a', 'k-b', 'k-c', 'k-d', 'k-e', 'k-f', 'k-g', 'k-h'];

interface Delivery {
  readonly event: EventEnvelope<PingPayload>;
  readonly context: DeliveryContext;
}

/**
 * The behaviour both adapters promise (see EventBus), run against each of them. Every scenario uses its own topic
 * and group, so a scenario's leftovers never reach another.
 */
export function describeEventBusContract(
  name: string,
  createBus: (setup: ContractBusSetup) => Promise<ContractBus>,
  options: ContractOptions = {},
): void {
  const sections = new Set(options.sections ?? ['delivery', 'failures', 'durability', 'batch']);
  const eventually = <T>(assertion: () => T | Promise<T>) =>
    expectEventually(assertion, { timeoutMs: options.eventuallyMs ?? 10_000 });
  const events = new TestEvents(CONTRACT_SCENARIOS);
  const retry: Partial<RetryPolicy> = { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 };

  describe(`${name} (event bus contract)`, () => {
    let bus: ContractBus;
    let metrics: ServiceMetrics;
    const group = (scenario: string) => `contract.${scenario}.${randomUUID().slice(0, 8)}`;

    beforeEach(async () => {
      metrics = new ServiceMetrics('contract', { defaultMetrics: false });
      bus = await createBus({ catalog: events.catalog, retry, metrics });
    });

    afterEach(async () => {
      await bus.close();
    });

    /** Subscribes a handler that records every delivery (after running `behaviour`, which may throw). */
    async function record(
      scenario: string,
      behaviour: (event: EventEnvelope<PingPayload>, context: DeliveryContext) => Promise<void> | void = () =>
        undefined,
      groupId = group(scenario),
    ): Promise<{ deliveries: Delivery[]; subscription: Subscription; groupId: string }> {
      const deliveries: Delivery[] = [];
      const subscription = await bus.subscribe({
        groupId,
        topics: [events.topic(scenario)],
        handler: async (event, context) => {
          const ping = event as EventEnvelope<PingPayload>;
          await behaviour(ping, context);
          deliveries.push({ event: ping, context });
        },
      });
      return { deliveries, subscription, groupId };
    }

    const seqs = (deliveries: readonly Delivery[], key?: string) =>
      deliveries
        .filter((d) => key === undefined || d.event.payload.key === key)
        .map((d) => d.event.payload.seq);

    if (sections.has('delivery')) {
      it('delivers a published event with its envelope intact and where it came from', async () => {
        const { deliveries, groupId } = await record('round-trip');
        const sent = events.ping(
          'round-trip',
          { key: 'k1', seq: 1, note: 'hello' },
          { correlationId: 'corr-rt' },
        );

        await bus.publish([sent]);

        await eventually(() => expect(deliveries).toHaveLength(1));
        expect(deliveries[0].event).toEqual(sent.envelope);
        expect(deliveries[0].context).toEqual({
          topic: sent.topic,
          groupId,
          attempt: 1,
          maxAttempts: expect.any(Number),
          partition: expect.any(Number),
          offset: expect.stringMatching(/^\d+$/),
        });
      });

      it("sends an event that comes with its validated JSON (the outbox's copy) as that text, not serialized again", async () => {
        const { deliveries } = await record('as-written');
        const sent = events.ping('as-written', { key: 'k1', seq: 1, note: 'the object' });
        const written = { ...sent.envelope, payload: { ...sent.envelope.payload, note: 'the text' } };

        await bus.publish([{ ...sent, json: JSON.stringify(written) }]);

        await eventually(() => expect(deliveries).toHaveLength(1));
        expect(deliveries[0].event).toEqual(written);
      });

      it('keeps the events of each key in order under load (5 keys x 200 events)', async () => {
        const { deliveries } = await record('ordering', async (event) => {
          // Yield now and then so partitions interleave.
          if (event.payload.seq % 7 === 0) await new Promise((r) => setImmediate(r));
        });
        const keys = ['o-1', 'o-2', 'o-3', 'o-4', 'o-5'];
        for (let batch = 0; batch < 10; batch++) {
          const pings = [];
          for (let i = 0; i < 20; i++) {
            for (const key of keys) pings.push(events.ping('ordering', { key, seq: batch * 20 + i }));
          }
          await bus.publish(pings);
        }

        await eventually(() => expect(deliveries).toHaveLength(1000));
        const expected = Array.from({ length: 200 }, (_, i) => i);
        for (const key of keys) expect(seqs(deliveries, key)).toEqual(expected);
      });

      it('handles different partitions concurrently', async () => {
        let inFlight = 0;
        let overlapped = false;
        const { deliveries } = await record('parallel', async () => {
          inFlight++;
          try {
            // Each handler waits (bounded) for another one to run at the same time: only parallel partitions allow it.
            await expectEventually(
              () => {
                if (overlapped || inFlight > 1) overlapped = true;
                else throw new Error('alone');
              },
              { timeoutMs: 2_000, intervalMs: 5 },
            ).catch(() => undefined);
          } finally {
            inFlight--;
          }
        });

        await bus.publish(SPREAD_KEYS.map((key) => events.ping('parallel', { key, seq: 0 })));

        await eventually(() => expect(deliveries).toHaveLength(SPREAD_KEYS.length));
        expect(new Set(deliveries.map((d) => d.context.partition)).size).toBeGreaterThan(1);
        expect(overlapped).toBe(true);
      });

      it('gives every event to each consumer group', async () => {
        const [first, second] = await Promise.all([record('two-groups'), record('two-groups')]);
        const pings = Array.from({ length: 20 }, (_, i) =>
          events.ping('two-groups', { key: `g-${i % 3}`, seq: i }),
        );

        await bus.publish(pings);

        const ids = pings.map((p) => p.envelope.id).sort();
        await eventually(() => {
          expect(first.deliveries.map((d) => d.event.id).sort()).toEqual(ids);
          expect(second.deliveries.map((d) => d.event.id).sort()).toEqual(ids);
        });
        expect(new Set(first.deliveries.map((d) => d.context.groupId)).size).toBe(1);
        expect(first.groupId).not.toBe(second.groupId);
      });

      it('lets a group that subscribes later read what was published before', async () => {
        const early = events.ping('late-subscriber', { key: 'l1', seq: 1 });
        await bus.publish([early]);

        const { deliveries } = await record('late-subscriber');

        await eventually(() => expect(deliveries.map((d) => d.event.id)).toEqual([early.envelope.id]));
      });

      it("runs the handler in the event's correlation context", async () => {
        const seen: (string | undefined)[] = [];
        const { deliveries } = await record('correlation', () => {
          seen.push(currentContext()?.correlationId);
        });

        await bus.publish([events.ping('correlation', { key: 'c1', seq: 1 }, { correlationId: 'corr-42' })]);

        await eventually(() => expect(deliveries).toHaveLength(1));
        expect(seen).toEqual(['corr-42']);
      });

      it('lets the in-flight handler finish on stop, and the group resumes after it', async () => {
        let release: () => void = () => undefined;
        const released = new Promise<void>((r) => (release = r));
        let firstStarted = false;
        let firstFinished = false;
        const groupId = group('graceful-stop');
        const first = await record(
          'graceful-stop',
          async (event) => {
            if (event.payload.seq === 1) {
              firstStarted = true;
              await released;
              firstFinished = true;
            }
          },
          groupId,
        );
        // Not awaited: the in-process bus resolves publish only once the (blocked) handler is done.
        const published = bus
          .publish([1, 2].map((seq) => events.ping('graceful-stop', { key: 's1', seq })))
          .catch((error: unknown) => {
            // The in-process bus refuses to call unhandled events delivered (the publisher keeps its copy).
            if (!(error instanceof BusClosedError)) throw error;
          });
        await eventually(() => expect(firstStarted).toBe(true));

        const stopping = first.subscription.stop();
        release();
        await stopping;
        expect(firstFinished).toBe(true);
        expect(seqs(first.deliveries)).toContain(1);
        await published;

        // Same group again: the finished event was committed, so the group carries on after it.
        const second = await record('graceful-stop', () => undefined, groupId);
        await bus.publish([events.ping('graceful-stop', { key: 's1', seq: 3 })]);
        await eventually(() => expect(seqs(second.deliveries)).toContain(3));
        expect([...seqs(first.deliveries), ...seqs(second.deliveries)]).toEqual([1, 2, 3]);
      });

      it('reports health until closed', async () => {
        await record('health');
        await bus.publish([events.ping('health', { key: 'h1', seq: 1 })]);
        expect((await bus.health()).ok).toBe(true);

        await bus.close();
        expect((await bus.health()).ok).toBe(false);
        await expect(bus.publish([events.ping('health', { key: 'h1', seq: 2 })])).rejects.toThrow(/closed/);
      });
    }

    if (sections.has('failures')) {
      it('retries a failing handler with the attempt number until it succeeds', async () => {
        const attempts: number[] = [];
        const { deliveries } = await record('retry', (_event, context) => {
          attempts.push(context.attempt);
          if (context.attempt < 3) throw new Error(`transient failure ${context.attempt}`);
        });

        await bus.publish([events.ping('retry', { key: 'r1', seq: 1 })]);

        await eventually(() => expect(deliveries).toHaveLength(1));
        expect(attempts).toEqual([1, 2, 3]);
        expect(deliveries[0].context.attempt).toBe(3);
      });

      it('dead-letters an event whose handler keeps failing, with the reason, and the key keeps flowing', async () => {
        const poisonAttempts: number[] = [];
        const { deliveries, groupId } = await record('poison', (event, context) => {
          if (event.payload.note === 'poison') {
            poisonAttempts.push(context.attempt);
            throw new Error('cannot digest this');
          }
        });
        const poison = events.ping('poison', { key: 'p1', seq: 1, note: 'poison' });

        await bus.publish([
          poison,
          events.ping('poison', { key: 'p1', seq: 2 }),
          events.ping('poison', { key: 'p1', seq: 3 }),
        ]);

        await eventually(() => expect(seqs(deliveries)).toEqual([2, 3]));
        expect(poisonAttempts).toEqual([1, 2, 3]);
        const letters = await eventually(async () => {
          const found = await bus.listDeadLetters(poison.topic);
          expect(found).toHaveLength(1);
          return found;
        });
        const [letter] = letters;
        expect(letter.topic).toBe(`${poison.topic}.dlq`);
        expect(letter.key).toBe('p1');
        expect(JSON.parse(letter.value)).toMatchObject({
          id: poison.envelope.id,
          payload: poison.envelope.payload,
        });
        expect(letter.headers).toMatchObject({
          [DeadLetterHeaders.reason]: 'cannot digest this',
          [DeadLetterHeaders.errorCode]: 'handler_failed',
          [DeadLetterHeaders.originalTopic]: poison.topic,
          [DeadLetterHeaders.originalPartition]: expect.stringMatching(/^\d+$/),
          [DeadLetterHeaders.originalOffset]: expect.stringMatching(/^\d+$/),
          [DeadLetterHeaders.groupId]: groupId,
          [DeadLetterHeaders.attempts]: '3',
        });
        expect(Number.isNaN(Date.parse(letter.headers[DeadLetterHeaders.failedAt]))).toBe(false);
      });

      it('dead-letters at once on a PermanentEventError', async () => {
        const attempts: number[] = [];
        const { deliveries } = await record('permanent', (event, context) => {
          if (event.payload.seq === 1) {
            attempts.push(context.attempt);
            throw new PermanentEventError('unknown mailbox', 'mailbox_unknown');
          }
        });

        await bus.publish([1, 2].map((seq) => events.ping('permanent', { key: 'pe', seq })));

        await eventually(() => expect(seqs(deliveries)).toEqual([2]));
        expect(attempts).toEqual([1]);
        const [letter] = await eventually(async () => {
          const found = await bus.listDeadLetters(events.topic('permanent'));
          expect(found).toHaveLength(1);
          return found;
        });
        expect(letter.headers[DeadLetterHeaders.errorCode]).toBe('mailbox_unknown');
        expect(letter.headers[DeadLetterHeaders.reason]).toBe('unknown mailbox');
        expect(letter.headers[DeadLetterHeaders.attempts]).toBe('1');
      });

      it('dead-letters an event whose validated JSON is not valid after all (an older outbox row), not its neighbours', async () => {
        const topic = events.topic('written-invalid');
        const { deliveries } = await record('written-invalid');
        const bad = events.ping('written-invalid', { key: 'k2', seq: 1 });
        const json = JSON.stringify({ ...bad.envelope, payload: { key: 'k2', seq: -5 } });

        await bus.publish([{ ...bad, json }, events.ping('written-invalid', { key: 'k2', seq: 2 })]);

        await eventually(() => expect(seqs(deliveries)).toEqual([2]));
        const letters = await eventually(async () => {
          const found = await bus.listDeadLetters(topic);
          expect(found).toHaveLength(1);
          return found;
        });
        expect(letters[0].value).toBe(json);
        expect(letters[0].headers[DeadLetterHeaders.errorCode]).toBe('event_invalid');
      });

      it('dead-letters an event that fails validation without calling the handler', async () => {
        const topic = events.topic('invalid');
        const { deliveries } = await record('invalid');
        const badPayload = events.ping('invalid', { key: 'i1', seq: 1 }).envelope;
        const raw = [
          { key: 'i1', value: 'this is not json' },
          { key: 'i1', value: JSON.stringify({ ...badPayload, payload: { key: 'i1', seq: -5 } }) },
        ];

        await bus.publishRaw(topic, raw);
        await bus.publish([events.ping('invalid', { key: 'i1', seq: 2 })]);

        await eventually(() => expect(seqs(deliveries)).toEqual([2]));
        const letters = await eventually(async () => {
          const found = await bus.listDeadLetters(topic);
          expect(found).toHaveLength(2);
          return found;
        });
        expect(letters.map((l) => l.value).sort()).toEqual(raw.map((r) => r.value).sort());
        for (const letter of letters) {
          expect(letter.headers[DeadLetterHeaders.errorCode]).toBe('event_invalid');
          expect(letter.headers[DeadLetterHeaders.attempts]).toBe('0');
        }
        expect(letters.map((l) => l.headers[DeadLetterHeaders.reason]).sort()).toEqual([
          'Event value is not JSON',
          expect.stringMatching(/^Payload of test-invalid\.pinged@v1 is invalid: seq: /),
        ]);
      });

      it('rejects a publish with an invalid envelope and sends none of its events', async () => {
        const valid = events.ping('invalid-publish', { key: 'v1', seq: 1 });
        const invalid = events.ping('invalid-publish', { key: 'v1', seq: 2 });
        const tampered = {
          ...invalid,
          envelope: { ...invalid.envelope, payload: { key: 'v1', seq: 'two' } },
        };

        await expect(bus.publish([valid, tampered])).rejects.toBeInstanceOf(EventValidationError);
        await expect(
          bus.publish([{ topic: events.topic('round-trip'), envelope: valid.envelope }]),
        ).rejects.toThrow(/belongs on/);

        const { deliveries } = await record('invalid-publish');
        await bus.publish([events.ping('invalid-publish', { key: 'v1', seq: 3 })]);
        // Same key, so anything sent before would have arrived before this one.
        await eventually(() => expect(seqs(deliveries)).toContain(3));
        expect(seqs(deliveries)).toEqual([3]);
      });

      it('delivers again an event whose handler failed after its effect; an inbox keeps the effect single', async () => {
        const inbox = new Set<string>();
        const effects: number[] = [];
        const { deliveries } = await record('redelivery', (event, context) => {
          // The inbox (persistence lib) records ids in the effect's transaction; a Set stands in for it.
          if (!inbox.has(event.id)) {
            inbox.add(event.id);
            effects.push(event.payload.seq);
          }
          if (context.attempt === 1) throw new Error('crashed before acknowledging');
        });

        await bus.publish([events.ping('redelivery', { key: 'rd', seq: 1 })]);

        await eventually(() => expect(deliveries).toHaveLength(1));
        expect(deliveries[0].context.attempt).toBe(2);
        expect(effects).toEqual([1]);
      });

      it('replays dead letters to their topic once the cause is fixed', async () => {
        let broken = true;
        const { deliveries } = await record('replay', () => {
          if (broken) throw new PermanentEventError('dependency missing');
        });
        const sent = events.ping('replay', { key: 'rp', seq: 1 }, { correlationId: 'corr-replay' });
        await bus.publish([sent]);
        const [letter] = await eventually(async () => {
          const found = await bus.listDeadLetters(sent.topic);
          expect(found).toHaveLength(1);
          return found;
        });

        broken = false;
        const replayed = await bus.replayDeadLetters(sent.topic, (l) => l.position === letter.position);

        expect(replayed.map((l) => l.position)).toEqual([letter.position]);
        await eventually(() => expect(deliveries).toHaveLength(1));
        expect(deliveries[0].event).toEqual(sent.envelope);
      });

      it('counts published, handled, failed and dead-lettered events per topic and group', async () => {
        const { deliveries, groupId } = await record('metrics', (event) => {
          if (event.payload.seq === 1) throw new PermanentEventError('no');
        });
        const topic = events.topic('metrics');

        await bus.publish([1, 2].map((seq) => events.ping('metrics', { key: 'm', seq })));
        await eventually(() => expect(seqs(deliveries)).toEqual([2]));

        const value = async (metric: string) => {
          const found = await metrics.registry.getSingleMetric(metric)?.get();
          return (found?.values ?? [])
            .filter((v) => v.labels.topic === topic && (v.labels.group ?? groupId) === groupId)
            .filter(
              (v) => !('le' in v.labels) && (v as { metricName?: string }).metricName !== `${metric}_sum`,
            )
            .reduce((sum, v) => sum + v.value, 0);
        };
        await eventually(async () => expect(await value('mailbridge_events_dead_lettered_total')).toBe(1));
        expect(await value('mailbridge_events_published_total')).toBe(2);
        expect(await value('mailbridge_events_consumed_total')).toBe(1);
        expect(await value('mailbridge_event_handler_failures_total')).toBe(1);
        expect(await value('mailbridge_event_handler_duration_seconds')).toBe(2); // the _count series
      });
    }

    if (sections.has('durability')) {
      /**
       * The outbox's side of the contract: a publisher deletes its copy of an event only when publish resolved, and
       * publishes again whatever did not. Whenever the bus dies (closed at a random moment here, as a kill -9 would
       * end it), the group must still get every event from the bus or from that copy.
       */
      class Outbox {
        readonly pending = new Map<string, OutgoingEvent>();
        constructor(pings: OutgoingEvent[]) {
          for (const p of pings) this.pending.set(p.envelope.id, p);
        }
        /** Publishes each event on its own (like many relay batches); settles when every publish has settled. */
        relay(on: ContractBus): Promise<void> {
          return Promise.all(
            [...this.pending.values()].map((event) =>
              on.publish([event]).then(
                () => void this.pending.delete(event.envelope.id),
                () => undefined, // not accepted: kept for the next relay
              ),
            ),
          ).then(() => undefined);
        }
      }
      const STREAM = 80;
      const pings = (scenario: string, n: number) =>
        Array.from({ length: n }, (_, i) => events.ping(scenario, { key: SPREAD_KEYS[i % 8], seq: i }));
      /** The group's durable effect (an inbox): ids it finished handling, slowly enough to be killed midway. */
      const slowInbox = (handled: Set<string>) => async (event: EventEnvelope) => {
        await new Promise((r) => setTimeout(r, 25));
        handled.add(event.id);
      };
      /** The moment to kill: the group has handled a few events, most of the stream is still ahead of it. */
      const started = (handled: Set<string>) =>
        expectEventually(() => expect(handled.size).toBeGreaterThanOrEqual(3), {
          timeoutMs: options.eventuallyMs ?? 10_000,
          intervalMs: 2,
        });

      /** The process starts again: a new bus, the same group, the outbox relays what it still holds. */
      async function restarted(groupId: string, scenario: string, outbox: Outbox, handled: Set<string>) {
        const again = await createBus({ catalog: events.catalog, retry, metrics, startBarrier: true });
        try {
          await again.subscribe({ groupId, topics: [events.topic(scenario)], handler: slowInbox(handled) });
          again.open?.();
          await outbox.relay(again);
          expect(outbox.pending.size).toBe(0);
          await eventually(() => expect(handled.size).toBe(STREAM));
        } finally {
          await again.close();
        }
      }

      it('loss path 2: an event published before its group subscribes reaches the group although the bus is killed before handling it', async () => {
        const scenario = 'kill-before-subscribe';
        const groupId = group(scenario);
        const outbox = new Outbox(pings(scenario, STREAM));
        const handled = new Set<string>();
        const first = await createBus({ catalog: events.catalog, retry, metrics, startBarrier: true });
        // A relay starts with the first service, before a later service's group has subscribed.
        const relayed = outbox.relay(first);
        await first.subscribe({ groupId, topics: [events.topic(scenario)], handler: slowInbox(handled) });
        first.open?.();
        await started(handled);
        await first.close(); // killed while the group works through the stream
        await relayed;

        await restarted(groupId, scenario, outbox, handled);
      });

      it('loss path 2: an event pending when its group stops reaches the group although the bus is killed right after', async () => {
        const scenario = 'kill-after-stop';
        const groupId = group(scenario);
        const outbox = new Outbox(pings(scenario, STREAM));
        const handled = new Set<string>();
        const first = await createBus({ catalog: events.catalog, retry, metrics, startBarrier: true });
        const member = await first.subscribe({
          groupId,
          topics: [events.topic(scenario)],
          handler: slowInbox(handled),
        });
        first.open?.();
        const relayed = outbox.relay(first);
        await started(handled);
        await member.stop(); // a graceful stop of the consumer, then the process dies
        await relayed;
        await first.close();

        await restarted(groupId, scenario, outbox, handled);
      });
    }

    if (sections.has('batch')) {
      /**
       * A consumer with a batch handler, its effects kept like a transaction would keep them: a batch's effects count
       * only once the handler resolves, all together; an inbox (a Set of ids) makes redeliveries effect-free.
       */
      function batchConsumer(
        scenario: string,
        opts: {
          groupId?: string;
          on?: ContractBus;
          maxEvents?: number;
          /** Runs per event inside the batch (may throw: the batch then settles nothing). */
          inBatch?: (event: EventEnvelope<PingPayload>) => Promise<void> | void;
          /** The single handler's behaviour (the fall-back); may throw. */
          single?: (event: EventEnvelope<PingPayload>, context: DeliveryContext) => void;
          inbox?: Set<string>;
        } = {},
      ) {
        const state = {
          groupId: opts.groupId ?? group(scenario),
          inbox: opts.inbox ?? new Set<string>(),
          /** Every effect in the order it committed: event id and how it came (a batch, or alone). */
          effects: [] as Array<{ event: EventEnvelope<PingPayload>; via: 'batch' | 'single' }>,
          batchSizes: [] as number[],
          failedBatches: 0,
          subscription: undefined as Subscription | undefined,
        };
        const effect = (event: EventEnvelope<PingPayload>, via: 'batch' | 'single') => {
          if (state.inbox.has(event.id)) return;
          state.inbox.add(event.id);
          state.effects.push({ event, via });
        };
        const subscribed = (opts.on ?? bus)
          .subscribe({
            groupId: state.groupId,
            topics: [events.topic(scenario)],
            handler: async (event, context) => {
              opts.single?.(event as EventEnvelope<PingPayload>, context);
              effect(event as EventEnvelope<PingPayload>, 'single');
            },
            batch: {
              maxEvents: opts.maxEvents,
              handler: async (batch) => {
                state.batchSizes.push(batch.length);
                try {
                  for (const event of batch) await opts.inBatch?.(event as EventEnvelope<PingPayload>);
                } catch (error) {
                  state.failedBatches++;
                  throw error; // rolled back: no effect of this batch is kept
                }
                for (const event of batch) effect(event as EventEnvelope<PingPayload>, 'batch');
              },
            },
          })
          .then((subscription) => {
            state.subscription = subscription;
            return state;
          });
        return subscribed;
      }
      const effectSeqs = (effects: ReadonlyArray<{ event: EventEnvelope<PingPayload> }>, key: string) =>
        effects.filter((e) => e.event.payload.key === key).map((e) => e.event.payload.seq);

      it('batch: delivers batches in log order, keeping the order of each key (5 keys x 100 events)', async () => {
        const consumer = await batchConsumer('batch-order', {
          maxEvents: 17,
          inBatch: async (event) => {
            if (event.payload.seq % 11 === 0) await new Promise((r) => setImmediate(r));
          },
        });
        const keys = ['bo-1', 'bo-2', 'bo-3', 'bo-4', 'bo-5'];
        const pings = [];
        for (let seq = 0; seq < 100; seq++)
          for (const key of keys) pings.push(events.ping('batch-order', { key, seq }));

        await bus.publish(pings);

        await eventually(() => expect(consumer.effects).toHaveLength(500));
        const expected = Array.from({ length: 100 }, (_, i) => i);
        for (const key of keys) expect(effectSeqs(consumer.effects, key)).toEqual(expected);
        expect(consumer.effects.every((e) => e.via === 'batch')).toBe(true);
        expect(Math.max(...consumer.batchSizes)).toBeLessThanOrEqual(17);
      });

      it('batch: hands a backlog over in batches of more than one event', async () => {
        const pings = Array.from({ length: 60 }, (_, seq) => events.ping('batch-size', { key: 'bs', seq }));
        // Published before the group exists: the whole backlog waits in one partition.
        await bus.publish(pings);

        const consumer = await batchConsumer('batch-size', { maxEvents: 25 });

        await eventually(() => expect(consumer.effects).toHaveLength(60));
        expect(effectSeqs(consumer.effects, 'bs')).toEqual(pings.map((p) => p.envelope.payload.seq));
        expect(Math.max(...consumer.batchSizes)).toBeGreaterThan(1);
        expect(Math.max(...consumer.batchSizes)).toBeLessThanOrEqual(25);
        // Far fewer handler calls than events: the batch path carried them.
        expect(consumer.batchSizes.length).toBeLessThan(60 / 2);
        expect(consumer.effects.every((e) => e.via === 'batch')).toBe(true);
      });

      it('batch: a failing event does not fail its neighbours; they are handled once, it is dead-lettered', async () => {
        const poisonAttempts: number[] = [];
        const poison = events.ping('batch-isolation', { key: 'bi', seq: 5, note: 'poison' });
        const pings = Array.from({ length: 12 }, (_, seq) =>
          seq === 5 ? poison : events.ping('batch-isolation', { key: 'bi', seq }),
        );
        await bus.publish(pings);

        const consumer = await batchConsumer('batch-isolation', {
          inBatch: (event) => {
            if (event.payload.note === 'poison') throw new Error('cannot digest this');
          },
          single: (event, context) => {
            if (event.payload.note !== 'poison') return;
            poisonAttempts.push(context.attempt);
            throw new Error('cannot digest this');
          },
        });

        await eventually(() => expect(effectSeqs(consumer.effects, 'bi')).toHaveLength(11));
        expect(effectSeqs(consumer.effects, 'bi')).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
        const ids = consumer.effects.map((e) => e.event.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(consumer.failedBatches).toBeGreaterThanOrEqual(1);
        expect(poisonAttempts).toEqual([1, 2, 3]); // the single path's retry policy, as without batches
        const [letter] = await eventually(async () => {
          const found = await bus.listDeadLetters(poison.topic);
          expect(found).toHaveLength(1);
          return found;
        });
        expect(JSON.parse(letter.value)).toMatchObject({ id: poison.envelope.id });
        expect(letter.headers[DeadLetterHeaders.groupId]).toBe(consumer.groupId);
      });

      it('shared group: each consumer gets every event of its topics in key order; a failing one dead-letters only its own event', async () => {
        const groupId = group('shared-one');
        const got = {
          batched: [] as EventEnvelope<PingPayload>[],
          bulk: [] as EventEnvelope<PingPayload>[],
          batchSizes: [] as number[],
          picky: [] as EventEnvelope<PingPayload>[],
          other: [] as EventEnvelope<PingPayload>[],
        };
        const poisonAttempts: number[] = [];
        const subscription = await subscribeConsumers(bus, {
          groupId,
          consumers: [
            {
              groupId: `${groupId}.batched`,
              topics: [events.topic('shared-one')],
              handler: async (event) => void got.batched.push(event as EventEnvelope<PingPayload>),
              batch: {
                maxEvents: 7,
                handler: async (batch) => {
                  got.batchSizes.push(batch.length);
                  got.batched.push(...(batch as EventEnvelope<PingPayload>[]));
                },
              },
            },
            {
              groupId: `${groupId}.bulk`,
              topics: [events.topic('shared-one')],
              handler: async (event) => void got.bulk.push(event as EventEnvelope<PingPayload>),
              batch: {
                handler: async (batch) => void got.bulk.push(...(batch as EventEnvelope<PingPayload>[])),
              },
            },
            {
              groupId: `${groupId}.picky`,
              topics: [events.topic('shared-one')],
              handler: async (event, context) => {
                const ping = event as EventEnvelope<PingPayload>;
                if (ping.payload.note === 'poison') {
                  poisonAttempts.push(context.attempt);
                  expect(context.groupId).toBe(`${groupId}.picky`);
                  throw new Error('picky cannot digest this');
                }
                got.picky.push(ping);
              },
            },
            {
              groupId: `${groupId}.other`,
              topics: [events.topic('shared-two')],
              handler: async (event) => void got.other.push(event as EventEnvelope<PingPayload>),
            },
          ],
        });
        const keys = ['sh-1', 'sh-2', 'sh-3'];
        const one = [];
        for (let seq = 0; seq < 20; seq++)
          for (const key of keys)
            one.push(
              events.ping('shared-one', {
                key,
                seq,
                ...(key === 'sh-1' && seq === 7 ? { note: 'poison' } : {}),
              }),
            );
        const two = Array.from({ length: 10 }, (_, seq) => events.ping('shared-two', { key: 'sh-x', seq }));
        await bus.publish([...one, ...two]);

        await eventually(() => {
          expect(got.batched).toHaveLength(60);
          expect(got.bulk).toHaveLength(60);
          expect(got.picky).toHaveLength(59);
          expect(got.other).toHaveLength(10);
        });
        const seqsOf = (list: EventEnvelope<PingPayload>[], key: string) =>
          list.filter((e) => e.payload.key === key).map((e) => e.payload.seq);
        const all = Array.from({ length: 20 }, (_, i) => i);
        for (const key of keys) {
          expect(seqsOf(got.batched, key)).toEqual(all);
          expect(seqsOf(got.bulk, key)).toEqual(all);
          expect(seqsOf(got.picky, key)).toEqual(key === 'sh-1' ? all.filter((s) => s !== 7) : all);
        }
        expect(seqsOf(got.other, 'sh-x')).toEqual(all.slice(0, 10));
        expect(poisonAttempts).toEqual([1, 2, 3]);
        // Each consumer in its own batch size, whatever its neighbours take.
        expect(Math.max(...got.batchSizes)).toBeLessThanOrEqual(7);
        const letters = await eventually(async () => {
          const found = await bus.listDeadLetters(events.topic('shared-one'));
          expect(found).toHaveLength(1);
          return found;
        });
        expect(letters[0].headers[DeadLetterHeaders.groupId]).toBe(`${groupId}.picky`);
        expect(await bus.listDeadLetters(events.topic('shared-two'))).toHaveLength(0);
        await subscription.stop();
      });

      it('batch: a crash mid-batch redelivers the batch; nothing is lost and the inbox absorbs the repeats', async () => {
        const scenario = 'batch-crash';
        const STREAM = 60;
        const groupId = group(scenario);
        const inbox = new Set<string>();
        const pings = Array.from({ length: STREAM }, (_, i) =>
          events.ping(scenario, { key: SPREAD_KEYS[i % 4], seq: i }),
        );
        // The publisher's copy (an outbox): kept until a publish resolves. One publish, so the log keeps its order.
        const pending = new Map(pings.map((p) => [p.envelope.id, p]));
        const relay = (on: ContractBus) =>
          on.publish([...pending.values()]).then(
            () => pending.clear(),
            () => undefined,
          );

        const first = await createBus({ catalog: events.catalog, retry, metrics, startBarrier: true });
        let crashed = false;
        let inCrashedBatch: string[] = [];
        let batchStarted: () => void = () => undefined;
        const started = new Promise<void>((r) => (batchStarted = r));
        const doomed = await batchConsumer(scenario, {
          on: first,
          groupId,
          inbox,
          inBatch: async (event) => {
            if (!crashed) {
              inCrashedBatch.push(event.id);
              batchStarted();
              // The process dies while this batch works: its transaction never commits.
              await expectEventually(() => expect(crashed).toBe(true), { timeoutMs: 30_000, intervalMs: 5 });
            }
            throw new Error('process killed');
          },
          single: () => {
            throw new Error('process killed');
          },
        });
        first.open?.();
        const relayed = relay(first);
        await started;
        crashed = true;
        await first.close();
        await relayed;
        inCrashedBatch = [...new Set(inCrashedBatch)];
        expect(doomed.effects).toHaveLength(0);
        expect(inCrashedBatch.length).toBeGreaterThan(0);

        const again = await createBus({ catalog: events.catalog, retry, metrics, startBarrier: true });
        try {
          const survivor = await batchConsumer(scenario, { on: again, groupId, inbox });
          again.open?.();
          await relay(again);
          await eventually(() => expect(inbox.size).toBe(STREAM));
          expect(pending.size).toBe(0);
          const redelivered = new Set(survivor.effects.map((e) => e.event.id));
          for (const id of inCrashedBatch) expect(redelivered.has(id)).toBe(true);
          for (const key of SPREAD_KEYS.slice(0, 4)) {
            const seqsOfKey = effectSeqs(survivor.effects, key);
            expect(seqsOfKey).toEqual([...seqsOfKey].sort((a, b) => a - b));
          }
        } finally {
          await again.close();
        }
      });
    }
  });
}
