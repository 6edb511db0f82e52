import { mailboxMessageQuarantinedV1, messageObservedV1 } from '@mailbridge/contracts';
import { GmailApi } from '@mailbridge/providers-google';
import { GraphMailApi } from '@mailbridge/providers-microsoft';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const GINA = 'gina-batch@gmail.sandbox.test';
const OLLY = 'olly-batch@outlook.sandbox.test';
const ALEX = 'alex@example.com';

/**
 * Issue 16: pulls fetch messages in provider batches (Gmail HTTP batch, Graph `$batch`), and a per-call answer inside
 * a batch (404, 429, 5xx) concerns that message only: a 429 backs off that call, a message that keeps failing is
 * counted and quarantined (SYN-10), its neighbours in the same batch are observed exactly once.
 */
describe('mail-gateway: batched pulls keep per-message isolation (sandbox, Kafka, PostgreSQL)', () => {
  let h: GatewayHarness;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: GINA },
          { provider: 'microsoft', address: OLLY },
        ],
      },
      env: { MAILBOX_RETRY_MAX_SECONDS: '2', MESSAGE_MAX_ATTEMPTS: '2' },
    });
    await Promise.all([h.connect(GINA, 'google'), h.connect(OLLY, 'microsoft')]);
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.sandbox.control.clearFaults();
    jest.restoreAllMocks();
  });

  const observedOf = (id: string) => h.log.of(messageObservedV1, (p) => p.message.providerMessageId === id);
  const waitObserved = (id: string, timeoutMs = 30_000) =>
    h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id, 1, timeoutMs);

  async function deliverHeld(address: string, count: number, provider: 'google' | 'microsoft') {
    h.sandbox.control.setNotificationBehaviour(provider, { hold: true });
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const r = await h.sandbox.control.deliver(address, {
        from: ALEX,
        subject: `Batch ${i}`,
        text: `m${i}`,
      });
      ids.push(r.message.id);
    }
    return {
      ids,
      release: () => {
        h.sandbox.control.setNotificationBehaviour(provider, { hold: false });
        h.sandbox.control.releaseHeldNotifications();
      },
    };
  }

  it('SYN-10 Gmail: one page is fetched in one batch; a 429 inside it is retried, a 500 that persists is quarantined, the rest observed once', async () => {
    const gmail = h.gateway.app.get(GmailApi);
    const batched = jest.spyOn(gmail, 'getRawMessages');
    const single = jest.spyOn(gmail, 'getRawMessage');
    const { ids, release } = await deliverHeld(GINA, 6, 'google');
    const [, throttled, , broken] = ids;
    h.sandbox.control.injectFault('gmail', {
      status: 429,
      count: 1,
      pathIncludes: throttled,
      retryAfterSeconds: 1,
    });
    h.sandbox.control.injectFault('gmail', { status: 500, count: 1_000, pathIncludes: broken });
    release();

    for (const id of ids.filter((i) => i !== broken)) await waitObserved(id);
    const [quarantined] = await h.log.waitFor(
      mailboxMessageQuarantinedV1,
      (p) => p.providerMessageId === broken,
      1,
      60_000,
    );
    expect(quarantined).toMatchObject({
      stage: 'gateway.pull',
      errorClass: 'provider:temporary',
      attempts: 2,
    });
    // The first call carried the whole page; later ones only what had to be asked again.
    expect(batched.mock.calls[0][1]).toEqual(ids);
    expect(batched.mock.calls.slice(1).every(([, asked]) => asked.length < ids.length)).toBe(true);
    expect(single).not.toHaveBeenCalled();
    for (const id of ids.filter((i) => i !== broken)) expect(observedOf(id)).toHaveLength(1);
    expect(observedOf(broken)).toHaveLength(0);
  }, 120_000);

  it('Gmail: a message deleted before the batch fetched it (404 inside the batch) is skipped, the cursor moves on', async () => {
    const { ids, release } = await deliverHeld(GINA, 3, 'google');
    h.sandbox.control.injectFault('gmail', { status: 404, count: 10, pathIncludes: ids[1] });
    release();
    await waitObserved(ids[0]);
    await waitObserved(ids[2]);
    const later = await h.sandbox.control.deliver(GINA, { from: ALEX, subject: 'Later', text: 'l' });
    await waitObserved(later.message.id);
    expect(observedOf(ids[1])).toHaveLength(0);
    expect(
      await h.query(`SELECT 1 FROM mail_gateway.message_failures WHERE provider_message_id = $1`, [ids[1]]),
    ).toEqual([]);
  }, 120_000);

  it('SYN-10 Graph: MIME in $batch requests of at most 20; a 429 inside one is retried, a persistent 503 quarantined', async () => {
    const graph = h.gateway.app.get(GraphMailApi);
    const batched = jest.spyOn(graph, 'mimeBatch');
    const single = jest.spyOn(graph, 'mime');
    const { ids, release } = await deliverHeld(OLLY, 25, 'microsoft');
    const throttled = ids[3];
    const broken = ids[21];
    h.sandbox.control.injectFault('graph', {
      status: 429,
      count: 1,
      pathIncludes: encodeURIComponent(throttled),
      retryAfterSeconds: 1,
    });
    h.sandbox.control.injectFault('graph', {
      status: 503,
      count: 1_000,
      pathIncludes: encodeURIComponent(broken),
    });
    release();

    for (const id of ids.filter((i) => i !== broken)) await waitObserved(id, 60_000);
    await h.log.waitFor(mailboxMessageQuarantinedV1, (p) => p.providerMessageId === broken, 1, 60_000);
    expect(batched.mock.calls.every(([, asked]) => asked.length <= 20)).toBe(true);
    const firstRound = batched.mock.calls.slice(0, 2).flatMap(([, asked]) => asked);
    expect(new Set(firstRound)).toEqual(new Set(ids));
    expect(single).not.toHaveBeenCalled();
    for (const id of ids.filter((i) => i !== broken)) expect(observedOf(id)).toHaveLength(1);
    expect(observedOf(broken)).toHaveLength(0);
  }, 120_000);
});
