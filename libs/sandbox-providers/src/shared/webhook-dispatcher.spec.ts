import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from './clock';
import { DELIVERY_LOG_LIMIT, WebhookDispatcher } from './webhook-dispatcher';

describe('WebhookDispatcher delivery log', () => {
  let dispatcher: WebhookDispatcher;
  let receiver: Server;
  let url: string;

  beforeAll(async () => {
    // Acks every push, so a real delivery ends in one 'acked' record.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/push`;
  });
  afterAll(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  beforeEach(() => {
    dispatcher = new WebhookDispatcher(new ManualClock(), {
      timeoutMs: 5_000,
      isAck: (status) => status === 204,
      retry: { maxAttempts: 1, minBackoffMs: 1, maxBackoffMs: 1 },
    });
  });
  afterEach(() => dispatcher.close());

  const notification = (id: string) => ({ id, url, body: { id }, headers: () => ({}) });

  it('keeps only the newest DELIVERY_LOG_LIMIT records, oldest first, however many pushes were sent', async () => {
    // Dropped pushes are recorded at once, without a request: a cheap way past the limit.
    dispatcher.setBehaviour({ drop: true });
    const sent = DELIVERY_LOG_LIMIT + 250;
    for (let i = 0; i < sent; i++) dispatcher.send(notification(`n-${i}`));

    expect(dispatcher.log).toHaveLength(DELIVERY_LOG_LIMIT);
    expect(dispatcher.log[0].id).toBe(`n-${sent - DELIVERY_LOG_LIMIT}`);
    expect(dispatcher.log.at(-1)?.id).toBe(`n-${sent - 1}`);
    expect(dispatcher.log.every((r, i) => r.id === `n-${sent - DELIVERY_LOG_LIMIT + i}`)).toBe(true);

    // A real delivery past the limit is recorded last and pushes the oldest record out.
    dispatcher.setBehaviour({ drop: false });
    dispatcher.send(notification('delivered'));
    await dispatcher.idle();
    expect(dispatcher.log).toHaveLength(DELIVERY_LOG_LIMIT);
    expect(dispatcher.log[0].id).toBe(`n-${sent - DELIVERY_LOG_LIMIT + 1}`);
    expect(dispatcher.log.at(-1)).toMatchObject({
      id: 'delivered',
      outcome: 'acked',
      status: 204,
      attempt: 1,
    });
  });

  it('keeps every record while under the limit', () => {
    dispatcher.setBehaviour({ drop: true });
    for (let i = 0; i < 3; i++) dispatcher.send(notification(`n-${i}`));
    expect(dispatcher.log.map((r) => [r.id, r.outcome])).toEqual([
      ['n-0', 'dropped'],
      ['n-1', 'dropped'],
      ['n-2', 'dropped'],
    ]);
  });
});
