import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EventEnvelope } from '@mailbridge/contracts';
import { createLogger, ServiceMetrics } from '@mailbridge/platform-observability';
import { expectEventually } from '@mailbridge/testing';
import { BusClosedError } from './bus-closed.error';
import { FileDeadLetterStore } from './file-dead-letter.store';
import { InProcessEventBus, virtualPartition } from './in-process.event-bus';
import { describeEventBusContract } from './testing/bus-contract';
import { PingPayload, TestEvents } from './testing/test-events';

const logger = createLogger({ service: 'messaging-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describeEventBusContract(
  'InProcessEventBus',
  async ({ catalog, retry, metrics, startBarrier }) =>
    new InProcessEventBus({ catalog, logger, retry, metrics, holdUntilOpened: startBarrier }),
);

describe('InProcessEventBus (embedded-mode guarantees)', () => {
  const events = new TestEvents(
    [
      'durable',
      'stack',
      'nested',
      'closing',
      'leaving',
      'shared',
      'retention',
      'opening',
      'dead',
      'views',
      'once',
    ],
    'inproc',
  );
  let bus: InProcessEventBus;

  beforeEach(() => {
    bus = new InProcessEventBus({
      catalog: events.catalog,
      logger,
      retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 10 },
    });
  });
  afterEach(async () => {
    await bus.close();
  });

  function gate(): { promise: Promise<void>; open: () => void } {
    let open: () => void = () => undefined;
    const promise = new Promise<void>((r) => (open = r));
    return { promise, open };
  }

  it('services sharing the bus (embedded) each get their own bus series, consumer lag and dead letters', async () => {
    const producer = new ServiceMetrics('svc-a', { defaultMetrics: false });
    const consumer = new ServiceMetrics('svc-b', { defaultMetrics: false });
    const a = bus.forService('svc-a', producer);
    const b = bus.forService('svc-b', consumer);
    const topic = events.topic('views');
    const held = gate();
    await b.subscribe({ groupId: 'svc-b.reader', topics: [topic], handler: () => held.promise });

    const published = a.publish([1, 2].map((seq) => events.ping('views', { key: 'k', seq })));
    await expectEventually(async () =>
      expect((await b.stats!()).consumerLag).toEqual([{ groupId: 'svc-b.reader', topic, lag: 2 }]),
    );
    expect((await a.stats!()).consumerLag).toEqual([]);
    held.open();
    await published;
    expect((await b.stats!()).consumerLag).toEqual([{ groupId: 'svc-b.reader', topic, lag: 0 }]);

    await bus.publishRaw(topic, [{ key: 'k', value: 'not json' }]);
    expect((await b.stats!()).deadLetters).toEqual([{ topic, count: 1 }]);
    expect((await a.stats!()).deadLetters).toEqual([{ topic, count: 0 }]);

    const producerSeries = (await producer.render()).body;
    const consumerSeries = (await consumer.render()).body;
    expect(producerSeries).toMatch(/mailbridge_events_published_total\{[^}]*\} 2/);
    expect(producerSeries).not.toContain('mailbridge_events_consumed_total{');
    expect(consumerSeries).toMatch(/mailbridge_events_consumed_total\{[^}]*group="svc-b.reader"[^}]*\} 2/);
    expect(consumerSeries).toMatch(
      /mailbridge_events_dead_lettered_total\{[^}]*group="svc-b.reader"[^}]*\} 1/,
    );
    expect(consumerSeries).not.toContain('mailbridge_events_published_total{');
  });

  it('issue 16: validates an event once, on publish, not again per group; each group gets its own copy', async () => {
    const topic = events.topic('once');
    const seen: EventEnvelope[] = [];
    const handler = async (event: EventEnvelope) => {
      seen.push(event);
      (event.payload as { seq: number }).seq = -1; // a handler changing its copy changes no other group's
    };
    await bus.subscribe({ groupId: 'once.a', topics: [topic], handler });
    await bus.subscribe({ groupId: 'once.b', topics: [topic], handler });
    await bus.subscribe({
      groupId: 'once.batch',
      topics: [topic],
      handler,
      batch: { handler: async (batch) => void batch.forEach((e) => seen.push(e)) },
    });
    const parse = jest.spyOn(events.catalog, 'parse');
    const sent = events.ping('once', { key: 'k', seq: 7 });
    await bus.publish([sent]);
    expect(parse).toHaveBeenCalledTimes(1);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
    // The two single handlers changed their copies; the batch group's copy is still what was published.
    const untouched = seen.filter((e) => (e.payload as { seq: number }).seq === 7);
    expect(untouched).toEqual([sent.envelope]);

    // What publishRaw appends (a replay, a foreign producer) is still validated by every group that reads it.
    await bus.publishRaw(topic, [{ key: 'k', value: JSON.stringify(sent.envelope) }]);
    expect(parse).toHaveBeenCalledTimes(4);
  });

  it('resolves publish only once every group subscribed at publish time has handled the events', async () => {
    const handled: string[] = [];
    const slow = gate();
    await bus.subscribe({
      groupId: 'fast',
      topics: [events.topic('durable')],
      handler: async () => void handled.push('fast'),
    });
    await bus.subscribe({
      groupId: 'slow',
      topics: [events.topic('durable')],
      handler: async () => {
        await slow.promise;
        handled.push('slow');
      },
    });
    let resolved = false;

    const publishing = bus
      .publish([events.ping('durable', { key: 'd', seq: 1 })])
      .then(() => (resolved = true));

    await expectEventually(() => expect(handled).toEqual(['fast']));
    expect(resolved).toBe(false);
    slow.open();
    await publishing;
    expect(handled.sort()).toEqual(['fast', 'slow']);
  });

  it('resolves publish at once with no subscriber, and the event waits in the log', async () => {
    await bus.publish([events.ping('durable', { key: 'd', seq: 1 })]);

    const seen: number[] = [];
    await bus.subscribe({
      groupId: 'later',
      topics: [events.topic('durable')],
      handler: async (event) => void seen.push((event as EventEnvelope<PingPayload>).payload.seq),
    });
    await expectEventually(() => expect(seen).toEqual([1]));
  });

  it("never runs a handler inside publish's call stack", async () => {
    let inPublish = false;
    const ranInPublish: boolean[] = [];
    await bus.subscribe({
      groupId: 'stack',
      topics: [events.topic('stack')],
      handler: async () => void ranInPublish.push(inPublish),
    });

    inPublish = true;
    const publishing = bus.publish([events.ping('stack', { key: 's', seq: 1 })]);
    inPublish = false;
    await publishing;

    expect(ranInPublish).toEqual([false]);
  });

  it('does not deadlock when a handler publishes on the partition it is handling', async () => {
    const seen: number[] = [];
    await bus.subscribe({
      groupId: 'nested',
      topics: [events.topic('nested')],
      handler: async (event) => {
        const { seq } = (event as EventEnvelope<PingPayload>).payload;
        seen.push(seq);
        // Handlers should write an outbox instead; if one publishes anyway it must not wait on itself.
        if (seq === 1) await bus.publish([events.ping('nested', { key: 'n', seq: 2 })]);
      },
    });

    await bus.publish([events.ping('nested', { key: 'n', seq: 1 })]);

    await expectEventually(() => expect(seen).toEqual([1, 2]));
  });

  it('rejects publishers still waiting when the bus closes, once the running handler is done', async () => {
    const blocked = gate();
    let started = false;
    let finished = false;
    await bus.subscribe({
      groupId: 'closing',
      topics: [events.topic('closing')],
      handler: async () => {
        started = true;
        await blocked.promise;
        finished = true;
      },
    });
    const publishing = bus.publish([1, 2].map((seq) => events.ping('closing', { key: 'c', seq })));
    const outcome = publishing.then(
      () => 'resolved',
      (error: unknown) => error,
    );

    await expectEventually(() => expect(started).toBe(true));
    const closing = bus.close();
    blocked.open();
    await closing;

    expect(finished).toBe(true);
    expect(await outcome).toBeInstanceOf(BusClosedError);
  });

  it('loss path 2: rejects waiting publishers when the last member of a group leaves (they keep their copy); the group resumes where it stopped', async () => {
    const blocked = gate();
    const seen: number[] = [];
    let started = false;
    const handler = async (event: EventEnvelope) => {
      const { seq } = (event as EventEnvelope<PingPayload>).payload;
      if (seq === 1) {
        started = true;
        await blocked.promise;
      }
      seen.push(seq);
    };
    const first = await bus.subscribe({ groupId: 'leaving', topics: [events.topic('leaving')], handler });
    const publishing = bus.publish([1, 2].map((seq) => events.ping('leaving', { key: 'l', seq })));
    const outcome = publishing.then(
      () => 'resolved',
      (error: unknown) => error,
    );

    await expectEventually(() => expect(started).toBe(true));
    const stopping = first.stop();
    blocked.open();
    await stopping;
    // Event 2 was never handled: resolving would let the outbox drop the only durable copy.
    expect(await outcome).toBeInstanceOf(BusClosedError);
    expect(seen).toEqual([1]);
    // While the group has no member, a publish for it is refused at once rather than left hanging.
    await expect(bus.publish([events.ping('leaving', { key: 'l', seq: 3 })])).rejects.toBeInstanceOf(
      BusClosedError,
    );

    await bus.subscribe({ groupId: 'leaving', topics: [events.topic('leaving')], handler });
    await expectEventually(() => expect(seen).toEqual([1, 2, 3]));
  });

  it('loss path 2: holds publishes until opened, then waits for every group subscribed by then', async () => {
    const held = new InProcessEventBus({ catalog: events.catalog, logger, holdUntilOpened: true });
    try {
      const handled: string[] = [];
      let resolved = false;
      // A relay that starts with the first service publishes before the later services' groups exist.
      const publishing = held
        .publish([events.ping('opening', { key: 'o', seq: 1 })])
        .then(() => (resolved = true));
      expect((await held.health()).detail).toContain('starting');
      const late = gate();
      await held.subscribe({
        groupId: 'first',
        topics: [events.topic('opening')],
        handler: async () => void handled.push('first'),
      });
      await held.subscribe({
        groupId: 'later',
        topics: [events.topic('opening')],
        handler: async () => {
          await late.promise;
          handled.push('later');
        },
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(resolved).toBe(false);
      expect(handled).toEqual([]);

      held.open();
      await expectEventually(() => expect(handled).toEqual(['first']));
      expect(resolved).toBe(false);
      late.open();
      await publishing;
      expect(handled.sort()).toEqual(['first', 'later']);
    } finally {
      await held.close();
    }
  });

  it('loss path 2: a publish still held when the bus closes is rejected, never resolved', async () => {
    const held = new InProcessEventBus({ catalog: events.catalog, logger, holdUntilOpened: true });
    const publishing = held.publish([events.ping('opening', { key: 'o', seq: 1 })]);
    await held.close();
    await expect(publishing).rejects.toBeInstanceOf(BusClosedError);
  });

  it('loss path 2: a dead letter is stored before its event counts as handled, and listed again after a restart', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-dlq-'));
    const file = path.join(dir, 'dead-letters.jsonl');
    let letGo: () => void = () => undefined;
    const slowStore = new FileDeadLetterStore(file);
    const append = slowStore.append.bind(slowStore);
    let storing = false;
    slowStore.append = async (letter) => {
      storing = true;
      await new Promise<void>((r) => (letGo = r));
      await append(letter);
    };
    const first = new InProcessEventBus({
      catalog: events.catalog,
      logger,
      retry: { maxAttempts: 1 },
      deadLetterStore: slowStore,
    });
    try {
      await first.subscribe({
        groupId: 'dlq',
        topics: [events.topic('dead')],
        handler: async () => {
          throw new Error('boom');
        },
      });
      let resolved = false;
      const publishing = first
        .publish([events.ping('dead', { key: 'x', seq: 1 })])
        .then(() => (resolved = true));
      await expectEventually(() => expect(storing).toBe(true));
      await new Promise((r) => setTimeout(r, 20));
      expect(resolved).toBe(false);
      letGo();
      await publishing;
      await first.close();

      const restarted = new InProcessEventBus({
        catalog: events.catalog,
        logger,
        deadLetterStore: new FileDeadLetterStore(file),
      });
      const letters = await restarted.listDeadLetters(events.topic('dead'));
      expect(letters).toEqual([
        expect.objectContaining({
          topic: `${events.topic('dead')}.dlq`,
          position: '0:0',
          headers: expect.objectContaining({ 'x-dlq-reason': 'boom', 'x-dlq-group': 'dlq' }),
        }),
      ]);
      await restarted.close();
    } finally {
      await first.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('shares the partitions of a group between its subscriptions, each event handled once', async () => {
    const handledBy = new Map<string, string>();
    const handler = (member: string) => async (event: EventEnvelope) => {
      expect(handledBy.has(event.id)).toBe(false);
      handledBy.set(event.id, member);
    };
    await bus.subscribe({ groupId: 'shared', topics: [events.topic('shared')], handler: handler('a') });
    await bus.subscribe({ groupId: 'shared', topics: [events.topic('shared')], handler: handler('b') });
    const pings = Array.from({ length: 64 }, (_, i) => events.ping('shared', { key: `key-${i}`, seq: i }));

    await bus.publish(pings);

    expect(handledBy.size).toBe(64);
    expect(new Set(handledBy.values())).toEqual(new Set(['a', 'b']));
  });

  it('drops what every group has handled beyond the retained history, never what a group still has to handle', async () => {
    const small = new InProcessEventBus({ catalog: events.catalog, logger, partitions: 1, retainHandled: 2 });
    try {
      const seenBy = { a: [] as number[], late: [] as number[] };
      const record = (into: number[]) => async (event: EventEnvelope) =>
        void into.push((event as EventEnvelope<PingPayload>).payload.seq);
      await small.subscribe({ groupId: 'a', topics: [events.topic('retention')], handler: record(seenBy.a) });

      await small.publish(
        Array.from({ length: 10 }, (_, i) => events.ping('retention', { key: 'r', seq: i })),
      );
      expect(seenBy.a).toHaveLength(10);

      // A group subscribing now reads the retained history only.
      await small.subscribe({
        groupId: 'late',
        topics: [events.topic('retention')],
        handler: record(seenBy.late),
      });
      await expectEventually(() => expect(seenBy.late).toEqual([8, 9]));
    } finally {
      await small.close();
    }
  });
});

describe('virtualPartition', () => {
  it('maps a key to the same partition every time, within range', () => {
    const partitions = Array.from({ length: 200 }, (_, i) => virtualPartition(`key-${i}`, 8));
    expect(partitions.every((p) => Number.isInteger(p) && p >= 0 && p < 8)).toBe(true);
    expect(new Set(partitions).size).toBe(8);
    expect(virtualPartition('key-7', 8)).toBe(partitions[7]);
    expect(virtualPartition(null, 8)).toBe(0);
  });
});
