import { mailboxMessageQuarantinedV1, messageObservedV1 } from '@mailbridge/contracts';
import { LeaseRepository } from '../common/lease.repository';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';
import { countStatements, type StatementCount } from '../testing/statement-counter';
import { GmailPullService } from './gmail-pull.service';
import { MessageNormalizer } from './message-normalizer.service';

const PAT = 'pat-pages@gmail.sandbox.test';
const QUINN = 'quinn-pages@gmail.sandbox.test';
const RIO = 'rio-pages@gmail.sandbox.test';
const ALEX = 'alex@example.com';

/**
 * Issue 16: a fetched page is observed set-based: one look-up of what is known, the exclusion lists once, one
 * multi-row insert and one transaction for the page, so the database cost of a pull does not grow with its messages.
 * Per-message isolation (SYN-10) stays: a message that cannot be normalised is counted against itself alone.
 */
describe('mail-gateway: a page of messages is observed with a constant number of statements (sandbox Gmail)', () => {
  let h: GatewayHarness;
  let pulls: ReturnType<typeof countStatements>;

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: PAT },
          { provider: 'google', address: QUINN },
          { provider: 'google', address: RIO },
        ],
      },
      env: { MAILBOX_RETRY_MAX_SECONDS: '2', MESSAGE_MAX_ATTEMPTS: '2' },
    });
    await Promise.all([h.connect(PAT, 'google'), h.connect(QUINN, 'google'), h.connect(RIO, 'google')]);
    // Every query the gateway's pool sends while a counted pull runs (its async context carries the counter).
    pulls = countStatements();
  }, 180_000);
  afterAll(async () => {
    pulls?.restore();
    await h?.close();
  });

  const observedOf = (id: string) => h.log.of(messageObservedV1, (p) => p.message.providerMessageId === id);

  /** Delivers `count` messages without telling the gateway (notifications held), so one pull finds them all. */
  async function deliverQuietly(address: string, count: number, tag: string): Promise<string[]> {
    await h.waitIdle((await h.mailbox(address, 'google'))!.id as string);
    h.sandbox.control.setNotificationBehaviour('google', { hold: true });
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const r = await h.sandbox.control.deliver(address, {
        from: ALEX,
        subject: `${tag} ${i}`,
        text: `${tag}${i}`,
      });
      ids.push(r.message.id);
    }
    return ids;
  }

  /** One pull of the mailbox, counted; the held notifications are let go afterwards (their pulls find nothing). */
  async function countedPull(address: string): Promise<StatementCount> {
    const row = (await h.mailbox(address, 'google'))!;
    const count: StatementCount = { statements: [], transactions: 0 };
    const pull = h.gateway.app.get(GmailPullService);
    await h.waitIdle(row.id as string);
    const mailbox = (await h.gateway.app.get(MailboxesRepository).findById(row.id as string))!;
    await pulls.count(count, () => pull.pull(mailbox, async () => undefined).catch(() => undefined));
    h.sandbox.control.setNotificationBehaviour('google', { hold: false });
    return count;
  }

  it('issue 16: a page of 50 new messages costs the same statements as a page of 5 (≤ 0.5 per message, ≤ 0.05 transactions)', async () => {
    const five = await deliverQuietly(PAT, 5, 'Five');
    const small = await countedPull(PAT);
    for (const id of five) await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id);
    const fifty = await deliverQuietly(RIO, 50, 'Fifty');
    const large = await countedPull(RIO);
    for (const id of fifty) await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id);

    // Both pulls observed their page themselves (one outbox insert each).
    for (const c of [small, large]) expect(c.statements.filter((q) => /\.outbox \(/.test(q))).toHaveLength(1);
    expect(large.statements.length).toBe(small.statements.length);
    expect(large.transactions).toBe(small.transactions);
    expect(large.statements.length / 50).toBeLessThanOrEqual(0.5);
    expect(large.transactions / 50).toBeLessThanOrEqual(0.05);
    for (const id of fifty) expect(observedOf(id)).toHaveLength(1);
  }, 180_000);

  it('issue 16 / SYN-10: a poison message in a page of 50 is isolated (counted, then quarantined); the other 49 are observed once', async () => {
    const ids = await deliverQuietly(QUINN, 50, 'Page');
    const poison = ids[17];
    const normalizer = h.gateway.app.get(MessageNormalizer);
    const normalize = normalizer.normalize.bind(normalizer);
    const spy = jest.spyOn(normalizer, 'normalize').mockImplementation(async (input, owner, screen) => {
      if (input.providerMessageId === poison) throw new Error('unparseable MIME (test poison)');
      return normalize(input, owner, screen);
    });
    try {
      const first = await countedPull(QUINN);
      // The 49 are committed together, the poison's attempt on its own: not one transaction per message.
      expect(first.transactions).toBeLessThanOrEqual(3);
      for (const id of ids.filter((i) => i !== poison))
        await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id);
      const [failure] = await h.query<{ attempts: number }>(
        `SELECT attempts FROM mail_gateway.message_failures WHERE provider_message_id = $1`,
        [poison],
      );
      expect(failure?.attempts).toBeGreaterThanOrEqual(1);
      await h.log.waitFor(mailboxMessageQuarantinedV1, (p) => p.providerMessageId === poison, 1, 60_000);
    } finally {
      spy.mockRestore();
    }
    for (const id of ids.filter((i) => i !== poison)) expect(observedOf(id)).toHaveLength(1);
    expect(observedOf(poison)).toHaveLength(0);
  }, 180_000);

  it('issue 16: a pull under a lease taken moments ago does not extend it after its page (no statement per page)', async () => {
    const extend = jest.spyOn(h.gateway.app.get(LeaseRepository), 'extend');
    try {
      const ids = await deliverQuietly(PAT, 3, 'Lease');
      h.sandbox.control.setNotificationBehaviour('google', { hold: false });
      for (const id of ids) await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === id);
      expect(extend).not.toHaveBeenCalled();
    } finally {
      extend.mockRestore();
    }
  }, 60_000);
});
