import { randomUUID } from 'node:crypto';
import {
  CrmUser,
  SYNC_TIMEOUT_MS,
  copies,
  createMailbox,
  eventually,
  header,
  waitUntilObserved,
} from './harness/crm';
import { Platform, SERVICES, startPlatform } from './harness/platform.harness';

jest.setTimeout(900_000);

/** The pace of the stream: one inbound email (and now and then a CRM send) every this many milliseconds. */
const STREAM_PACE_MS = 500;
const STREAM_MAX = 400;

const pace = () => new Promise((resolve) => setTimeout(resolve, STREAM_PACE_MS));

interface Delivered {
  contactId: string;
  mailbox: string;
  providerMessageId: string;
}

interface CrmSend {
  crm: CrmUser;
  contactId: string;
  contactBox: string;
  userBox: string;
  subject: string;
  messageId?: string;
}

/**
 * Crash tests: each service is killed with -9 once, while mail keeps arriving in a Gmail and an Outlook mailbox and the
 * CRM keeps sending, then restarted. At-least-once delivery everywhere plus idempotent effects must add up to: every
 * provider message in exactly one conversation, and every CRM email sent exactly once.
 */
describe('kill -9 during a stream of mail (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({
      label: 'kill',
      // Pub/Sub and Graph retry failed notifications with backoff (Pub/Sub: 10 s to 600 s by default, configurable per
      // subscription); a shorter backoff keeps the test short. Nothing else differs from the defaults.
      sandbox: {
        google: { pushRetry: { minBackoffMs: 500, maxBackoffMs: 4_000, maxAttempts: 500 } },
        microsoft: { notificationRetry: { minBackoffMs: 500, maxBackoffMs: 4_000, maxAttempts: 500 } },
      },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('SYN-5, SND-6: every service killed with -9 once (and restarted) during a stream of inbound mail and CRM sends; at the end every provider message is in exactly one conversation and no email was sent twice', async () => {
    const control = platform.sandbox.control;
    const gmailSam = createMailbox(platform, 'google', 'sam');
    const outlookSam = createMailbox(platform, 'microsoft', 'sam');
    const gmailUser = new CrmUser(platform, 'loc_kill', 'usr_gmail');
    const outlookUser = new CrmUser(platform, 'loc_kill', 'usr_outlook');
    // Contacts are sandbox mailboxes too, so the copies of every CRM email they receive can be counted.
    const gmailContacts = ['ct_g0', 'ct_g1', 'ct_g2'].map((id) => ({
      id,
      box: createMailbox(platform, 'google', id.replace('_', '-')),
    }));
    const outlookContacts = ['ct_o0', 'ct_o1', 'ct_o2'].map((id) => ({
      id,
      box: createMailbox(platform, 'microsoft', id.replace('_', '-')),
    }));
    for (const c of gmailContacts)
      await gmailUser.putContact(c.id, { email: c.box, assignedUserId: 'usr_gmail' });
    for (const c of outlookContacts)
      await outlookUser.putContact(c.id, { email: c.box, assignedUserId: 'usr_outlook' });
    await gmailUser.contactsProjected([...gmailContacts, ...outlookContacts].map((c) => c.id));
    await gmailUser.connect('google', gmailSam);
    await outlookUser.connect('microsoft', outlookSam);
    await waitUntilObserved(platform, gmailSam);
    await waitUntilObserved(platform, outlookSam);

    // Outlook syncs CRM threads only (SYN-3): each Outlook contact gets a CRM email first and answers in its thread.
    const outlookThreads = new Map<string, string>();
    for (const c of outlookContacts) {
      await outlookUser.sendAndWait(c.id, { subject: `Thread with ${c.id}`, text: 'Let us talk.' });
      const copy = await eventually(() => {
        const inbox = copies(platform, c.box, `Thread with ${c.id}`).inbox;
        expect(inbox).toHaveLength(1);
        return inbox[0];
      });
      outlookThreads.set(c.id, copy.messageId!);
    }

    // The stream: inbound mail into both mailboxes, and every 6th step a CRM send (retried with the same
    // Idempotency-Key until conversations accepts it, as the CRM gateway would while the service is down).
    const delivered: Delivered[] = [];
    const sends: CrmSend[] = [];
    const sending: Promise<void>[] = [];
    let streaming = true;
    let streamError: unknown;
    const sendWithRetries = async (send: CrmSend) => {
      const key = randomUUID();
      for (;;) {
        const res = await send.crm
          .send(send.contactId, { subject: send.subject, text: 'Sent during the storm.' }, key)
          .catch(() => undefined);
        if (res?.status === 202) {
          send.messageId = res.body.messageId;
          return;
        }
        if (res && res.status < 500)
          throw new Error(`send refused: ${res.status} ${JSON.stringify(res.body)}`);
        await pace();
      }
    };
    const stream = (async () => {
      for (let i = 0; streaming && i < STREAM_MAX; i++) {
        const gmail = gmailContacts[i % gmailContacts.length];
        const outlook = outlookContacts[i % outlookContacts.length];
        const g = await control.deliver(gmailSam, {
          from: gmail.box,
          subject: `Stream ${i}`,
          text: `Message ${i}`,
        });
        delivered.push({ contactId: gmail.id, mailbox: gmailSam, providerMessageId: g.message.id });
        const o = await control.deliver(outlookSam, {
          from: outlook.box,
          subject: `Re: Thread with ${outlook.id}`,
          inReplyTo: outlookThreads.get(outlook.id),
          text: `Reply ${i}`,
        });
        delivered.push({ contactId: outlook.id, mailbox: outlookSam, providerMessageId: o.message.id });
        if (i % 6 === 0) {
          const outlookTurn = (i / 6) % 2 === 1;
          const contact = outlookTurn ? outlook : gmail;
          const send: CrmSend = {
            crm: outlookTurn ? outlookUser : gmailUser,
            contactId: contact.id,
            contactBox: contact.box,
            userBox: outlookTurn ? outlookSam : gmailSam,
            subject: `CRM send ${i}`,
          };
          sends.push(send);
          sending.push(sendWithRetries(send));
        }
        await pace();
      }
    })().catch((error: unknown) => {
      streamError = error;
    });
    const streamed = async (atLeast: number) =>
      eventually(() => {
        if (streamError) throw streamError;
        expect(delivered.length).toBeGreaterThanOrEqual(atLeast);
      }, 120_000);

    await streamed(10);
    const started = Date.now();
    const progress = (what: string) =>
      process.stdout.write(
        `kill test +${((Date.now() - started) / 1000).toFixed(1)}s: ${what}, ${delivered.length} delivered\n`,
      );
    for (const service of SERVICES) {
      await platform.kill(service);
      progress(`${service} killed`);
      await streamed(delivered.length + 8);
      await platform.restart(service);
      progress(`${service} restarted`);
      await streamed(delivered.length + 8);
    }
    streaming = false;
    await stream;
    if (streamError) throw streamError;
    await Promise.all(sending);
    process.stdout.write(`kill test: ${delivered.length} inbound messages, ${sends.length} CRM sends\n`);

    // Every inbound provider message is in exactly one conversation: its sender's.
    const contacts = [
      ...gmailContacts.map((c) => ({ ...c, crm: gmailUser })),
      ...outlookContacts.map((c) => ({ ...c, crm: outlookUser })),
    ];
    await eventually(async () => {
      const seen = new Map<string, string[]>();
      for (const c of contacts) {
        for (const m of await c.crm.messages(c.id)) {
          if (m.direction !== 'inbound' || !m.provider.messageId) continue;
          seen.set(m.provider.messageId, [...(seen.get(m.provider.messageId) ?? []), c.id]);
        }
      }
      const missing = delivered.filter((d) => !seen.has(d.providerMessageId));
      expect(missing.length).toBe(0);
      expect(delivered.map((d) => [d.providerMessageId, seen.get(d.providerMessageId)])).toEqual(
        delivered.map((d) => [d.providerMessageId, [d.contactId]]),
      );
      expect([...seen.keys()].sort()).toEqual(delivered.map((d) => d.providerMessageId).sort());
    }, 4 * SYNC_TIMEOUT_MS);

    // Every CRM email went out exactly once: one copy in the user's Sent folder, one in the contact's inbox, and its
    // provider message is that one CRM message in the conversation (its Sent copy merged into it, SYN-5).
    for (const send of sends) {
      const message = await send.crm.waitForStatus(send.messageId!, 'sent');
      const exactly = new RegExp(`^${send.subject}$`);
      const sentCopies = copies(platform, send.userBox, exactly).sent;
      const received = copies(platform, send.contactBox, exactly).inbox;
      // On a duplicate, the copies' own headers say who sent twice (the same X-Mailbridge-Ref = the gateway).
      const evidence = (list: typeof sentCopies) =>
        list.map((m) => ({
          id: m.id,
          messageId: m.messageId,
          ref: header(m, 'X-Mailbridge-Ref'),
          date: m.date,
        }));
      expect({
        subject: send.subject,
        crmMessageId: send.messageId,
        sent: evidence(sentCopies),
        received: evidence(received),
      }).toEqual({
        subject: send.subject,
        crmMessageId: send.messageId,
        sent: [expect.objectContaining({ ref: send.messageId })],
        received: [expect.objectContaining({ ref: send.messageId })],
      });
      expect(message.provider.messageId).toBe(sentCopies[0].id);
      const inConversation = (await send.crm.messages(send.contactId)).filter(
        (m) => m.subject === send.subject,
      );
      expect([send.subject, inConversation.map((m) => m.id)]).toEqual([send.subject, [send.messageId]]);
    }
    // Nothing else went out: no extra copy in either Sent folder, nothing through the location provider.
    const allSent = [gmailSam, outlookSam].flatMap((box) =>
      control.mailbox(box).sent.filter((m) => m.subject.startsWith('CRM send')),
    );
    expect(allSent.map((m) => m.subject).sort()).toEqual(sends.map((s) => s.subject).sort());
    expect(platform.locationProvider.emails()).toEqual([]);
  });
});
