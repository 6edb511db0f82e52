import { randomBytes, randomUUID } from 'node:crypto';
import {
  eventCatalog,
  sendFailedV1,
  sendRequestedV1,
  sendSucceededV1,
  type ConnectionSnapshot,
  type PayloadOf,
} from '@mailbridge/contracts';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const SAM_GMAIL = 'sam@gmail.sandbox.test';
const SALES_ALIAS = 'sales@gmail.sandbox.test';
const SAM_OUTLOOK = 'sam@outlook.sandbox.test';
const OUTLOOK_ALIAS = 's.hill@outlook.sandbox.test';
const CASEY = 'casey@gmail.sandbox.test';
const ROBIN = 'robin@outlook.sandbox.test';

type SendCommand = PayloadOf<typeof sendRequestedV1>;

describe('mail-gateway sends as a verified alias with the signature (SND-7)', () => {
  let h: GatewayHarness;
  let gmail: ConnectionSnapshot;
  let outlook: ConnectionSnapshot;

  beforeAll(async () => {
    h = await startGatewayHarness({
      env: { SEND_AS_FRESH_SECONDS: '0' },
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SAM_GMAIL, displayName: 'Sam' },
          { provider: 'microsoft', address: SAM_OUTLOOK, displayName: 'Sam' },
          { provider: 'google', address: CASEY, displayName: 'Casey' },
          { provider: 'microsoft', address: ROBIN, displayName: 'Robin' },
        ],
      },
    });
    gmail = await h.connect(SAM_GMAIL, 'google');
    outlook = await h.connect(SAM_OUTLOOK, 'microsoft');
    // The mailboxes as the providers hold them, and what identity-connections reads from them.
    h.sandbox.control.setSendAs(SAM_GMAIL, {
      aliases: [{ address: SALES_ALIAS, displayName: 'Sales', signature: '<b>Sales desk</b> &amp; team' }],
    });
    h.sandbox.control.setSendAs(SAM_OUTLOOK, { aliases: [{ address: OUTLOOK_ALIAS }] });
    h.identity.sendAs.set(gmail.connectionId, {
      addresses: [
        { address: SAM_GMAIL, displayName: 'Sam', primary: true, signature: null },
        {
          address: SALES_ALIAS,
          displayName: 'Sales',
          primary: false,
          signature: '<b>Sales desk</b> &amp; team',
        },
      ],
      appendSignature: true,
      signature: null,
    });
    h.identity.sendAs.set(outlook.connectionId, {
      addresses: [
        { address: SAM_OUTLOOK, displayName: null, primary: true, signature: null },
        { address: OUTLOOK_ALIAS, displayName: null, primary: false, signature: null },
      ],
      appendSignature: true,
      signature: 'Sam Hill <Acme>',
    });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  const command = (c: ConnectionSnapshot, over: Partial<SendCommand> = {}): SendCommand => ({
    sendId: randomUUID(),
    locationId: 'loc_1',
    userId: c.userId,
    contactId: 'ct_1',
    conversationId: randomUUID(),
    kind: 'individual',
    route: {
      kind: 'mailbox',
      connectionId: c.connectionId,
      provider: c.provider,
      mailboxKey: c.mailboxKey,
      fromAddress: c.emailAddress,
    },
    to: [{ name: 'Contact', address: c.provider === 'google' ? CASEY : ROBIN }],
    cc: [],
    bcc: [],
    subject: `Alias ${randomBytes(3).toString('hex')}`,
    text: 'Hello from the CRM.',
    html: '<p>Hello from the CRM.</p>',
    attachments: [],
    rfcMessageId: `<${randomUUID()}@crm.mailbridge.test>`,
    inReplyTo: null,
    references: [],
    replyInProviderThreadId: null,
    replyToProviderMessageId: null,
    requestedAt: new Date().toISOString(),
    ...over,
  });
  const send = (c: SendCommand) => h.publish(eventCatalog.create(sendRequestedV1, c));
  const count = (haystack: string | undefined, needle: string) => (haystack ?? '').split(needle).length - 1;
  beforeEach(() => {
    h.identity.sendAsCalls.length = 0;
  });

  it('SND-7: Gmail: a send from a verified alias goes out From the alias with its send-as signature in both bodies, once, even when the first attempt failed', async () => {
    // The first messages.send fails (503): the retry composes again from the command, never signing twice.
    h.sandbox.control.injectFault('gmail', {
      status: 503,
      pathIncludes: '/messages/send',
      mailbox: SAM_GMAIL,
    });
    const c = command(gmail, { from: { name: 'Sam Sales', address: SALES_ALIAS } });
    await send(c);
    const [succeeded] = await h.log.waitFor(sendSucceededV1, (p) => p.sendId === c.sendId, 1, 60_000);
    const [received] = h.sandbox.control.mailbox(CASEY).inbox.filter((m) => m.subject === c.subject);
    expect(received.from).toEqual({ name: 'Sam Sales', address: SALES_ALIAS });
    // The CRM records the From the email went out with.
    expect(succeeded.from).toEqual({ name: 'Sam Sales', address: SALES_ALIAS });
    const text = received.text?.replace(/\r\n/g, '\n');
    expect(text).toBe('Hello from the CRM.\n\n-- \nSales desk & team');
    expect(count(received.html, '<div class="mailbridge-signature"><b>Sales desk</b> &amp; team</div>')).toBe(
      1,
    );
    // Checked against identity-connections' answer.
    expect(h.identity.sendAsCalls.filter((id) => id === gmail.connectionId).length).toBeGreaterThanOrEqual(1);
  });

  it('CON-3: a send without a From goes out as the routed mailbox, and send.succeeded says so (the CRM may have guessed another)', async () => {
    const c = command(gmail);
    await send(c);
    const [succeeded] = await h.log.waitFor(sendSucceededV1, (p) => p.sendId === c.sendId, 1, 60_000);
    const [received] = h.sandbox.control.mailbox(CASEY).inbox.filter((m) => m.subject === c.subject);
    expect(received.from?.address).toBe(gmail.emailAddress);
    expect(succeeded.from).toEqual({ address: gmail.emailAddress });
  });

  it('SND-7: while identity-connections cannot answer, a send uses the last known send-as addresses (however old) and goes out', async () => {
    // This harness keeps no answer fresh (SEND_AS_FRESH_SECONDS=0): every attempt asks, so the one below can only be
    // served by the stale answer kept from this first send.
    const first = command(gmail, { from: { name: 'Sam Sales', address: SALES_ALIAS } });
    await send(first);
    await h.log.waitFor(sendSucceededV1, (p) => p.sendId === first.sendId, 1, 60_000);
    h.identity.sendAsDown = true;
    try {
      const calls = h.identity.sendAsCalls.length;
      const c = command(gmail, { from: { name: 'Sam Sales', address: SALES_ALIAS } });
      await send(c);
      const [succeeded] = await h.log.waitFor(sendSucceededV1, (p) => p.sendId === c.sendId, 1, 60_000);
      // It did ask, was refused (503), and sent with the answer it had.
      expect(h.identity.sendAsCalls.length).toBeGreaterThan(calls);
      expect(succeeded.from).toEqual({ name: 'Sam Sales', address: SALES_ALIAS });
      const [received] = h.sandbox.control.mailbox(CASEY).inbox.filter((m) => m.subject === c.subject);
      expect(received.from).toEqual({ name: 'Sam Sales', address: SALES_ALIAS });
    } finally {
      h.identity.sendAsDown = false;
    }
  });

  it('SND-7: a From that is not a verified send-as address is refused before the provider: send.failed from_not_verified, nothing sent', async () => {
    const c = command(gmail, { from: { address: 'ceo@gmail.sandbox.test' } });
    await send(c);
    const [failed] = await h.log.waitFor(sendFailedV1, (p) => p.sendId === c.sendId, 1, 30_000);
    expect(failed).toMatchObject({ code: 'from_not_verified' });
    expect(failed.message).toContain(SALES_ALIAS);
    expect(h.sandbox.control.mailbox(CASEY).inbox.filter((m) => m.subject === c.subject)).toHaveLength(0);
  });

  it('SND-7: Outlook: a send from a proxy address goes out with Graph from set to it and the CRM-set signature, HTML-escaped', async () => {
    const c = command(outlook, { from: { address: OUTLOOK_ALIAS }, text: null });
    await send(c);
    await h.log.waitFor(sendSucceededV1, (p) => p.sendId === c.sendId, 1, 60_000);
    const [received] = h.sandbox.control.mailbox(ROBIN).inbox.filter((m) => m.subject === c.subject);
    expect(received.from?.address).toBe(OUTLOOK_ALIAS);
    expect(received.html).toContain('<div class="mailbridge-signature">Sam Hill &lt;Acme&gt;</div>');
  });
});
