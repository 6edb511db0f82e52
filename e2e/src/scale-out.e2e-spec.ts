import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import {
  CrmUser,
  SYNC_TIMEOUT_MS,
  copies,
  createMailbox,
  eventually,
  waitUntilObserved,
} from './harness/crm';
import { Platform, SERVICES, startPlatform } from './harness/platform.harness';

jest.setTimeout(1_200_000);

const REPLICAS = 2;
const STREAM_PACE_MS = 400;
const STREAM_MAX = 800;
const pace = () => new Promise((resolve) => setTimeout(resolve, STREAM_PACE_MS));

interface Delivered {
  readonly seq: number;
  readonly contactId: string;
  readonly providerMessageId: string;
}

/**
 * Scale-out: two replicas of every service in the same consumer groups (partitions shared, rebalanced when a member
 * joins or dies) against the Kafka mock cluster, each service behind one proxy as behind a Kubernetes Service. Mail
 * keeps arriving and the CRM keeps sending while one replica of each service is killed with -9 and not restarted.
 */
describe('two replicas of every service, one of each killed mid-stream (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({
      label: 'scale-out',
      replicas: REPLICAS,
      sandbox: { google: { pushRetry: { minBackoffMs: 500, maxBackoffMs: 4_000, maxAttempts: 500 } } },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('SYN-5, SYN-6, SND-6: nothing lost, nothing duplicated in the CRM, each conversation in delivery order', async () => {
    const control = platform.sandbox.control;
    const box = createMailbox(platform, 'google', 'scale');
    const user = new CrmUser(platform, 'loc_scale', 'usr_scale');
    const contacts = ['ct_s0', 'ct_s1', 'ct_s2'].map((id) => ({
      id,
      box: createMailbox(platform, 'google', id.replace('_', '-')),
    }));
    for (const c of contacts) await user.putContact(c.id, { email: c.box, assignedUserId: 'usr_scale' });
    await user.contactsProjected(contacts.map((c) => c.id));
    await user.connect('google', box);
    await waitUntilObserved(platform, box);
    // One Gmail thread per contact (replies with References and the same subject): one event key per thread, so the
    // thread's messages must be handled in the order they arrived.
    const threads = new Map<string, { messageId: string; threadId: string }>();
    for (const c of contacts) {
      const seed = await control.deliver(box, { from: c.box, subject: `Thread ${c.id}`, text: 'Hello.' });
      threads.set(c.id, { messageId: seed.message.messageId!, threadId: seed.message.threadId });
    }

    const delivered: Delivered[] = [];
    const sends: Array<{ contactId: string; contactBox: string; subject: string; messageId?: string }> = [];
    const sending: Promise<void>[] = [];
    let streaming = true;
    let streamError: unknown;
    const sendWithRetries = async (send: (typeof sends)[number]) => {
      const key = randomUUID();
      for (;;) {
        const res = await user
          .send(send.contactId, { subject: send.subject, text: 'Sent while scaled out.' }, key)
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
        const contact = contacts[i % contacts.length];
        const thread = threads.get(contact.id)!;
        const m = await control.deliver(box, {
          from: contact.box,
          subject: `Re: Thread ${contact.id}`,
          inReplyTo: thread.messageId,
          text: `Message ${i}`,
        });
        if (m.message.threadId !== thread.threadId) throw new Error(`message ${i} started a new thread`);
        delivered.push({ seq: i, contactId: contact.id, providerMessageId: m.message.id });
        if (i % 10 === 5) {
          const send = { contactId: contact.id, contactBox: contact.box, subject: `CRM scale send ${i}` };
          sends.push(send);
          sending.push(sendWithRetries(send));
        }
        await pace();
      }
    })().catch((error: unknown) => {
      streamError = error;
    });
    const streamed = (atLeast: number) =>
      eventually(() => {
        if (streamError) throw streamError;
        expect(delivered.length).toBeGreaterThanOrEqual(atLeast);
      }, 120_000);

    await streamed(10);
    const started = Date.now();
    for (const service of SERVICES) {
      await platform.killReplica(service, 0);
      process.stdout.write(
        `scale-out +${((Date.now() - started) / 1000).toFixed(1)}s: ${service} replica 0 killed, ${delivered.length} delivered\n`,
      );
      await streamed(delivered.length + 10);
    }
    // Still streaming: the survivors took over (the dead members' partitions after their session timeout) and mail
    // delivered after the last kill reaches the CRM while more keeps arriving.
    const afterKills = await streamed(delivered.length + 1).then(() => delivered[delivered.length - 1]);
    await eventually(async () => {
      if (streamError) throw streamError;
      const ids = (await user.messages(afterKills.contactId)).map((m) => m.provider.messageId);
      expect(ids).toContain(afterKills.providerMessageId);
    }, 300_000);
    process.stdout.write(
      `scale-out +${((Date.now() - started) / 1000).toFixed(1)}s: taken over, ${delivered.length} delivered\n`,
    );
    await streamed(delivered.length + 10);
    streaming = false;
    await stream;
    if (streamError) throw streamError;
    await Promise.all(sending);
    process.stdout.write(`scale-out: ${delivered.length} inbound messages, ${sends.length} CRM sends\n`);

    // Nothing lost, nothing twice: every provider message exactly once, in its sender's conversation.
    const inbound = await eventually(async () => {
      const byContact = new Map<string, Awaited<ReturnType<CrmUser['messages']>>>();
      for (const c of contacts)
        byContact.set(
          c.id,
          (await user.messages(c.id)).filter((m) => m.direction === 'inbound' && m.provider.messageId),
        );
      const seen = [...byContact].flatMap(([contactId, list]) =>
        list.map((m) => [m.provider.messageId, contactId] as const),
      );
      // The thread seeds are there too (delivered before the stream); the stream's messages exactly once each.
      const streamed = new Set(delivered.map((d) => d.providerMessageId));
      const fromStream = seen.filter(([id]) => streamed.has(id ?? ''));
      expect(fromStream.map(([id]) => id).sort()).toEqual([...streamed].sort());
      expect(new Map(fromStream)).toEqual(new Map(delivered.map((d) => [d.providerMessageId, d.contactId])));
      return byContact;
    }, 4 * SYNC_TIMEOUT_MS);

    // Per thread, the CRM lists the messages in the order they arrived in the mailbox (SYN-6).
    for (const c of contacts) {
      const ofContact = delivered.filter((d) => d.contactId === c.id).map((d) => d.providerMessageId);
      const listed = inbound
        .get(c.id)!
        .map((m) => m.provider.messageId)
        .filter((id) => ofContact.includes(id!));
      expect(listed).toEqual(ofContact);
    }

    // The bus kept each key's order: conversations recorded every conversation's messages in the order of its
    // partition of sync.messages.v1 (key = conversation), read back here by another client (kcat).
    const { stdout } = await promisify(execFile)(
      'kcat',
      [
        '-b',
        platform.kafkaBrokers.join(','),
        '-C',
        '-t',
        'sync.messages.v1',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%s\\n',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    // Upstream of it, for the report: mail.observed.v1 (key = mailbox, one partition for this mailbox).
    const observed = await promisify(execFile)(
      'kcat',
      [
        '-b',
        platform.kafkaBrokers.join(','),
        '-C',
        '-t',
        'mail.observed.v1',
        '-o',
        'beginning',
        '-e',
        '-q',
        '-f',
        '%s\\n',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const observedOrder: string[] = [];
    for (const line of observed.stdout.split('\n').filter(Boolean)) {
      const { payload } = JSON.parse(line) as { payload: { message: { providerMessageId: string } } };
      if (!observedOrder.includes(payload.message.providerMessageId))
        observedOrder.push(payload.message.providerMessageId);
    }
    const onTopic = new Map<string, string[]>();
    for (const line of stdout.split('\n').filter(Boolean)) {
      const { payload } = JSON.parse(line) as {
        payload: { contactId: string; message: { providerMessageId: string } };
      };
      const list = onTopic.get(payload.contactId) ?? [];
      if (!list.includes(payload.message.providerMessageId)) list.push(payload.message.providerMessageId);
      onTopic.set(payload.contactId, list);
    }
    for (const c of contacts) {
      const ofContact = new Set(
        delivered.filter((d) => d.contactId === c.id).map((d) => d.providerMessageId),
      );
      const topicOrder = (onTopic.get(c.id) ?? []).filter((id) => ofContact.has(id));
      const createdAt = new Map(inbound.get(c.id)!.map((m) => [m.provider.messageId, m.createdAt]));
      const recorded = topicOrder.map((id) => createdAt.get(id)!);
      expect([c.id, topicOrder.length]).toEqual([c.id, ofContact.size]);
      expect([c.id, recorded]).toEqual([c.id, [...recorded].sort()]);
      const asObserved = observedOrder.filter((id) => ofContact.has(id));
      process.stdout.write(
        `scale-out: ${c.id}: mail.observed.v1 in delivery order: ${[...ofContact].join() === asObserved.join()}; ` +
          `sync.messages.v1 in mail.observed order: ${asObserved.join() === topicOrder.join()} ` +
          `(positions: ${topicOrder.map((id) => asObserved.indexOf(id)).join(' ')})\n`,
      );
    }

    // Every CRM email went out exactly once.
    for (const send of sends) {
      await user.waitForStatus(send.messageId!, 'sent');
      const exactly = new RegExp(`^${send.subject}$`);
      expect([send.subject, copies(platform, box, exactly).sent.length]).toEqual([send.subject, 1]);
      expect([send.subject, copies(platform, send.contactBox, exactly).inbox.length]).toEqual([
        send.subject,
        1,
      ]);
    }
  });
});
