import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import {
  EventEnvelope,
  connectionConnectedV1,
  contactCreateRequestedV1,
  conversationIdFor,
  messageSyncedV1,
  sendFailedV1,
  sendRefusedV1,
  sendSucceededV1,
  type ConnectionSnapshot,
} from '@mailbridge/contracts';
import { MB } from '@mailbridge/domain-mail';
import { LocalFolderObjectStore, contentKeyFor } from '@mailbridge/platform-object-store';
import type { RetentionPruner } from '@mailbridge/platform-persistence';
import { RETENTION_PRUNER } from '@mailbridge/platform-runtime';
import { expectEventually } from '@mailbridge/testing';
import { connection, synced } from '../testing/events';
import { EXE, PDF, PNG, pdfOfSize } from '../testing/files';
import { Harness, startHarness } from '../testing/harness';
import { compileRegExpsLikeALongLivedProcess } from '../testing/long-lived-process';

const LOC = 'loc_send';

describe('conversations: sending email (real app, real PostgreSQL, in-process bus)', () => {
  let h: Harness;
  let gmail: ConnectionSnapshot;
  let outlook: ConnectionSnapshot;
  let capped: ConnectionSnapshot;
  const token = (userId: string) => h.svc.token(LOC, userId);

  beforeAll(async () => {
    // Issue 7: the multi-MB inline sends below must not depend on how long this process has lived.
    compileRegExpsLikeALongLivedProcess();
    h = await startHarness({
      SEND_CAP_MICROSOFT_PER_DAY: '2',
      UPLOAD_MAX_BYTES: String(6 * MB),
      SEND_BODY_LIMIT_BYTES: String(6 * MB),
    });
    gmail = connection({ locationId: LOC, userId: 'usr_gmail', provider: 'google' });
    outlook = connection({ locationId: LOC, userId: 'usr_outlook', provider: 'microsoft' });
    capped = connection({ locationId: LOC, userId: 'usr_capped', provider: 'microsoft' });
    for (const c of [gmail, outlook, capped]) await h.publish(connectionConnectedV1, { connection: c });
    await h
      .http()
      .put(`/v1/locations/${LOC}/contacts/ct_jane`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .send({ email: 'Jane.Doe@example.com', name: 'Jane Doe' })
      .expect(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  const send = (userId: string, key: string | null, body: Record<string, unknown>, contactId = 'ct_jane') => {
    const req = h
      .http()
      .post(`/v1/locations/${LOC}/contacts/${contactId}/emails`)
      .set('Authorization', `Bearer ${token(userId)}`);
    if (key !== null) req.set('Idempotency-Key', key);
    return req.send({ kind: 'individual', userId, subject: 'Your quote', text: 'Hi Jane', ...body });
  };
  const inline = (filename: string, bytes: Buffer, contentType = 'application/pdf') => ({
    filename,
    contentType,
    contentBase64: bytes.toString('base64'),
  });
  const requested = () => h.published.filter((e) => e.type === 'email.requested');
  const requestsFor = (messageId: string) =>
    requested().filter((e) => (e.payload as { messageId: string }).messageId === messageId);
  /** Everything committed has been published: a send that wrote an event would be visible by now. */
  const outboxDrained = () =>
    expectEventually(async () =>
      expect(await h.sql('SELECT event_id FROM conversations.outbox')).toEqual([]),
    );
  const messageCount = async () =>
    Number((await h.sql<{ n: string }>('SELECT count(*) AS n FROM conversations.messages'))[0].n);
  const stored = (bytes: Buffer) =>
    new LocalFolderObjectStore(h.objectDir).exists(
      contentKeyFor(createHash('sha256').update(bytes).digest('hex')),
    );

  /** What the hourly retention job does, now (its own first round may have run already: assert on rows, not counts). */
  const pruneExpired = () => h.svc.app.get<RetentionPruner>(RETENTION_PRUNER).pruneOnce();

  it('SND-6: two identical POSTs with one Idempotency-Key store one pending message and publish one email.requested', async () => {
    const first = await send('usr_gmail', 'key-twice', {});
    expect(first.status).toBe(202);
    const conversationId = conversationIdFor(LOC, 'ct_jane');
    expect(first.body).toEqual({ messageId: expect.any(String), conversationId, status: 'pending' });

    const second = await send('usr_gmail', 'key-twice', {});
    expect(second.status).toBe(202);
    expect(second.body).toEqual(first.body);
    expect(second.headers['idempotent-replayed']).toBe('true');

    await expectEventually(() => expect(requestsFor(first.body.messageId)).toHaveLength(1));
    await outboxDrained();
    expect(requestsFor(first.body.messageId)).toHaveLength(1);
    expect(
      await h.sql('SELECT message_id FROM conversations.messages WHERE idempotency_key = $1', ['key-twice']),
    ).toHaveLength(1);

    const event = requestsFor(first.body.messageId)[0] as EventEnvelope<Record<string, unknown>>;
    expect(event.key).toBe(conversationId);
    expect(event.payload).toMatchObject({
      idempotencyKey: 'key-twice',
      locationId: LOC,
      userId: 'usr_gmail',
      contactId: 'ct_jane',
      conversationId,
      kind: 'individual',
      to: [{ name: 'Jane Doe', address: 'Jane.Doe@example.com' }],
      subject: 'Your quote',
      text: 'Hi Jane',
      replyTo: null,
      attachments: [],
    });

    const message = await h
      .http()
      .get(`/v1/locations/${LOC}/messages/${first.body.messageId}`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .expect(200);
    expect(message.body).toMatchObject({
      id: first.body.messageId,
      conversationId,
      direction: 'outbound',
      source: 'crm',
      status: 'pending',
      from: { address: gmail.emailAddress },
      sentAt: null,
      failure: null,
    });
    const conversations = await h
      .http()
      .get(`/v1/locations/${LOC}/conversations?contactId=ct_jane`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .expect(200);
    expect(conversations.body.items).toEqual([
      expect.objectContaining({ id: conversationId, contactId: 'ct_jane', messageCount: expect.any(Number) }),
    ]);
  });

  it('SND-6: concurrent identical POSTs with one key still make one message', async () => {
    const before = await messageCount();
    const answers = await Promise.all([1, 2, 3].map(() => send('usr_gmail', 'key-race', { text: 'race' })));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(new Set(answers.map((a) => a.body.messageId)).size).toBe(1);
    await outboxDrained();
    expect(requestsFor(answers[0].body.messageId)).toHaveLength(1);
    expect(await messageCount()).toBe(before + 1);
  });

  it('SND-6: the same key with a different body is a 409 idempotency_key_reused, and nothing more is sent', async () => {
    const first = await send('usr_gmail', 'key-reused', { subject: 'One' });
    expect(first.status).toBe(202);
    const before = await messageCount();
    const other = await send('usr_gmail', 'key-reused', { subject: 'Two' });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatchObject({ code: 'idempotency_key_reused' });
    await outboxDrained();
    expect(await messageCount()).toBe(before);
    expect(requested().filter((e) => (e.payload as { subject: string }).subject === 'Two')).toEqual([]);
  });

  it('SND-6: a key older than IDEMPOTENCY_KEY_RETENTION_HOURS is forgotten (a retry is a new send); a recent one still replays', async () => {
    const old = await send('usr_gmail', 'key-old', { subject: 'Last week' });
    const recent = await send('usr_gmail', 'key-recent', { subject: 'Today' });
    expect([old.status, recent.status]).toEqual([202, 202]);
    // The default retention is 7 days: age one key past it.
    await h.sql(
      `UPDATE conversations.idempotency_keys SET created_at = now() - interval '169 hours' WHERE idempotency_key = $1`,
      ['key-old'],
    );
    await pruneExpired();
    expect(
      await h.sql<{ idempotency_key: string }>(
        `SELECT idempotency_key FROM conversations.idempotency_keys WHERE idempotency_key IN ('key-old', 'key-recent')`,
      ),
    ).toEqual([{ idempotency_key: 'key-recent' }]);

    const replay = await send('usr_gmail', 'key-recent', { subject: 'Today' });
    expect(replay.status).toBe(202);
    expect(replay.body.messageId).toBe(recent.body.messageId);
    const again = await send('usr_gmail', 'key-old', { subject: 'Last week' });
    expect(again.status).toBe(202);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.body.messageId).not.toBe(old.body.messageId);
  });

  it('SND-6: a send without an Idempotency-Key is a 400 and stores nothing', async () => {
    const before = await messageCount();
    const res = await send('usr_gmail', null, {});
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'idempotency_key_required', message: expect.any(String) } });
    expect(await messageCount()).toBe(before);
  });

  // Issue 7: in a long-lived test process (a full CI run) these multi-MB inline sends were answered 500: class-validator's
  // IsBase64 regular expression threw RangeError on the 4 MB string. contentBase64 is now checked without a regexp.
  it('ATT-1: an attachment over the Outlook limit is a 422 attachment_too_large; nothing is stored or published', async () => {
    const big = pdfOfSize(3 * MB + 1);
    const before = await messageCount();
    const res = await send('usr_outlook', 'key-too-big', { attachments: [inline('plan.pdf', big)] });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'attachment_too_large',
      details: {
        limitBytes: 3 * MB,
        provider: 'microsoft',
        attachments: [{ index: 0, filename: 'plan.pdf' }],
      },
    });
    expect(res.body.error.message).toContain('3 MB limit for Outlook');
    await outboxDrained();
    expect(await messageCount()).toBe(before);
    expect(requested().filter((e) => (e.payload as { userId: string }).userId === 'usr_outlook')).toEqual([]);
    expect(await stored(big)).toBe(false);
    // The key was not used up by the refusal: the same request can be fixed and retried with it.
    expect(
      await h.sql('SELECT 1 FROM conversations.idempotency_keys WHERE idempotency_key = $1', ['key-too-big']),
    ).toEqual([]);
  });

  it('ATT-1: the same file is within the Gmail limit, goes inline (the send route takes bodies over 1 MB) and is stored once', async () => {
    const big = pdfOfSize(3 * MB + 1);
    const res = await send('usr_gmail', 'key-gmail-big', { attachments: [inline('plan.pdf', big)] });
    expect(res.status).toBe(202);
    expect(await stored(big)).toBe(true);
    await expectEventually(() => expect(requestsFor(res.body.messageId)).toHaveLength(1));
    const payload = requestsFor(res.body.messageId)[0].payload as { attachments: unknown[] };
    expect(payload.attachments).toEqual([
      {
        objectKey: contentKeyFor(createHash('sha256').update(big).digest('hex')),
        sha256: createHash('sha256').update(big).digest('hex'),
        filename: 'plan.pdf',
        contentType: 'application/pdf',
        detectedKind: 'pdf',
        size: 3 * MB + 1,
      },
    ]);
  });

  it("ATT-1: the limit follows the route (SND-2): Outlook bulk mail from the connected address gets the Outlook limit, from another address the location provider's", async () => {
    const big = pdfOfSize(3 * MB + 10);
    const fromMailbox = await send('usr_outlook', 'key-bulk-mailbox', {
      kind: 'bulk',
      from: { address: outlook.emailAddress.toUpperCase() },
      attachments: [inline('plan.pdf', big)],
    });
    expect(fromMailbox.status).toBe(422);
    expect(fromMailbox.body.error.code).toBe('attachment_too_large');
    const viaLocation = await send('usr_outlook', 'key-bulk-location', {
      kind: 'bulk',
      from: { address: 'news@acme.example' },
      attachments: [inline('plan.pdf', big)],
    });
    expect(viaLocation.status).toBe(202);
  });

  it('ATT-1: a client that gives up halfway through a multi-MB inline send is not an internal error: no 500, no error log', async () => {
    const errors = jest.spyOn(h.svc.logger, 'error');
    const infos = jest.spyOn(h.svc.logger, 'info');
    try {
      const body = Buffer.from(
        JSON.stringify({
          kind: 'individual',
          userId: 'usr_gmail',
          subject: 'Your quote',
          attachments: [inline('plan.pdf', pdfOfSize(3 * MB))],
        }),
      );
      const { port } = new URL(h.svc.url);
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            [
              `POST /v1/locations/${LOC}/contacts/ct_jane/emails HTTP/1.1`,
              'Host: 127.0.0.1',
              `Authorization: Bearer ${token('usr_gmail')}`,
              'Idempotency-Key: key-aborted',
              'Content-Type: application/json',
              `Content-Length: ${body.length}`,
              '',
              '',
            ].join('\r\n'),
          );
          // Half the body, then the client is gone.
          socket.write(body.subarray(0, body.length / 2), () => socket.destroy());
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
      await expectEventually(() =>
        expect(infos).toHaveBeenCalledWith(
          expect.objectContaining({ method: 'POST', received: expect.any(Number) }),
          'request aborted by the client',
        ),
      );
      // The 4xx it became has gone through the error filter by now (same tick); give it a turn anyway.
      await new Promise((resolve) => setImmediate(resolve));
      expect(errors).not.toHaveBeenCalled();
      expect(
        await h.sql('SELECT 1 FROM conversations.idempotency_keys WHERE idempotency_key = $1', [
          'key-aborted',
        ]),
      ).toEqual([]);
    } finally {
      errors.mockRestore();
      infos.mockRestore();
    }
  });

  it('ATT-2: an attachment of an unsupported type is a 422 attachment_type_unsupported; nothing is published', async () => {
    const before = await messageCount();
    const res = await send('usr_gmail', 'key-exe', {
      attachments: [inline('quote.pdf', PDF), inline('setup.exe', EXE, 'application/octet-stream')],
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('attachment_type_unsupported');
    expect(res.body.error.details.attachments).toEqual([
      expect.objectContaining({ index: 1, filename: 'setup.exe', reasons: ['attachment_type_unsupported'] }),
    ]);
    await outboxDrained();
    expect(await messageCount()).toBe(before);
  });

  it('ATT-2: a renamed .exe posing as a .pdf (and declared application/pdf) is refused by its content', async () => {
    const res = await send('usr_gmail', 'key-renamed-exe', { attachments: [inline('invoice.pdf', EXE)] });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('attachment_type_unsupported');
    expect(await stored(EXE)).toBe(false);
  });

  describe('uploads', () => {
    const upload = (userId: string, bytes: Buffer | null, filename = 'file.pdf', field = 'file') => {
      const req = h
        .http()
        .post(`/v1/locations/${LOC}/uploads`)
        .set('Authorization', `Bearer ${token(userId)}`);
      return bytes ? req.attach(field, bytes, filename) : req.field('note', 'no file');
    };

    it('ATT-3: a large file is streamed into the object store and sent by uploadId; its bytes download again', async () => {
      const big = pdfOfSize(5 * MB);
      const up = await upload('usr_gmail', big, 'site-plan.pdf');
      expect(up.status).toBe(201);
      expect(up.body).toEqual({
        uploadId: expect.any(String),
        filename: 'site-plan.pdf',
        size: 5 * MB,
        contentType: 'application/pdf',
      });
      expect(await stored(big)).toBe(true);

      const res = await send('usr_gmail', 'key-upload', { attachments: [{ uploadId: up.body.uploadId }] });
      expect(res.status).toBe(202);
      await expectEventually(() => expect(requestsFor(res.body.messageId)).toHaveLength(1));
      const [ref] = (
        requestsFor(res.body.messageId)[0].payload as { attachments: Array<Record<string, unknown>> }
      ).attachments;
      expect(ref).toMatchObject({ filename: 'site-plan.pdf', size: 5 * MB, detectedKind: 'pdf' });

      const message = await h
        .http()
        .get(`/v1/locations/${LOC}/messages/${res.body.messageId}`)
        .set('Authorization', `Bearer ${token('usr_gmail')}`)
        .expect(200);
      expect(message.body.attachments).toEqual([
        { id: expect.any(String), filename: 'site-plan.pdf', contentType: 'application/pdf', size: 5 * MB },
      ]);
      const download = await h
        .http()
        .get(`/v1/locations/${LOC}/attachments/${message.body.attachments[0].id}`)
        .set('Authorization', `Bearer ${token('usr_gmail')}`)
        .buffer(true)
        .parse((r, cb) => {
          const chunks: Buffer[] = [];
          r.on('data', (c: Buffer) => chunks.push(c));
          r.on('end', () => cb(null, Buffer.concat(chunks)));
        });
      expect(download.status).toBe(200);
      expect(download.headers['content-type']).toBe('application/pdf');
      expect(download.headers['content-disposition']).toBe(
        `attachment; filename="site-plan.pdf"; filename*=UTF-8''site-plan.pdf`,
      );
      expect(download.headers['x-content-type-options']).toBe('nosniff');
      expect(Buffer.compare(download.body as Buffer, big)).toBe(0);

      // ATT-1 applies to uploads at send time: 5 MB is over Outlook's 3 MB.
      const outlookSend = await send('usr_outlook', 'key-upload-outlook', {
        attachments: [{ uploadId: up.body.uploadId }],
      });
      expect(outlookSend.status).toBe(422);
      expect(outlookSend.body.error.code).toBe('attachment_too_large');
    });

    it('ATT-2: an upload is typed by content: an .exe named .pdf is a 422 and is not stored', async () => {
      const exe = Buffer.concat([EXE, Buffer.alloc(100_000, 7)]);
      const res = await upload('usr_gmail', exe, 'invoice.pdf');
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe('attachment_type_unsupported');
      expect(await stored(exe)).toBe(false);
    });

    it('ATT-1: an upload over UPLOAD_MAX_BYTES is a 422 attachment_too_large and is not stored', async () => {
      const huge = pdfOfSize(6 * MB + 1);
      const res = await upload('usr_gmail', huge, 'huge.pdf');
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'attachment_too_large', details: { limitBytes: 6 * MB } });
      expect(await stored(huge)).toBe(false);
    });

    it('answers a multipart body without a file, or a non-multipart body, with 400', async () => {
      const none = await upload('usr_gmail', null);
      expect(none.status).toBe(400);
      expect(none.body.error.code).toBe('upload_file_missing');
      const json = await h
        .http()
        .post(`/v1/locations/${LOC}/uploads`)
        .set('Authorization', `Bearer ${token('usr_gmail')}`)
        .send({ file: 'x' });
      expect(json.status).toBe(400);
      expect(json.body.error.code).toBe('multipart_required');
    });

    it('an upload not used within UPLOAD_RETENTION_HOURS is forgotten: a send naming it is a 404 upload_not_found', async () => {
      const fresh = await upload('usr_gmail', PDF, 'fresh.pdf');
      const stale = await upload('usr_gmail', Buffer.concat([PDF, Buffer.from('stale')]), 'stale.pdf');
      expect([fresh.status, stale.status]).toEqual([201, 201]);
      await h.sql(
        `UPDATE conversations.uploads SET created_at = now() - interval '25 hours' WHERE upload_id = $1`,
        [stale.body.uploadId],
      );
      await pruneExpired();

      const late = await send('usr_gmail', 'key-stale-upload', {
        attachments: [{ uploadId: stale.body.uploadId }],
      });
      expect(late.status).toBe(404);
      expect(late.body.error.code).toBe('upload_not_found');
      const onTime = await send('usr_gmail', 'key-fresh-upload', {
        attachments: [{ uploadId: fresh.body.uploadId }],
      });
      expect(onTime.status).toBe(202);
    });

    it('does not let a send use an upload id that does not exist in the location', async () => {
      const res = await send('usr_gmail', 'key-no-upload', {
        attachments: [{ uploadId: '8c5e0a3e-2b7d-4f6a-9e1c-0d4b3a2f1e5c' }],
      });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('upload_not_found');
    });
  });

  it('SND-4: at the cap an individual send is a 422 sending_cap_reached with the cap and when a slot opens', async () => {
    for (const key of ['cap-1', 'cap-2']) expect((await send('usr_capped', key, {})).status).toBe(202);
    const refused = await send('usr_capped', 'cap-3', {});
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({
      code: 'sending_cap_reached',
      details: { cap: 2, windowHours: 24, sentInWindow: 2, nextSlotAt: expect.any(String) },
    });
    const [oldest] = await h.sql<{ created_at: Date }>(
      `SELECT created_at FROM conversations.messages WHERE idempotency_key = 'cap-1'`,
    );
    expect(new Date(refused.body.error.details.nextSlotAt).getTime()).toBe(
      oldest.created_at.getTime() + 24 * 3600 * 1000,
    );
    expect(refused.body.error.message).toContain('cap of 2 individual emails per 24 hours');

    // Bulk mail does not count against the cap (SND-4 is about individual emails).
    expect((await send('usr_capped', 'cap-bulk', { kind: 'bulk' })).status).toBe(202);
    // A send that failed frees its slot.
    const [failed] = await h.sql<{ message_id: string }>(
      `SELECT message_id FROM conversations.messages WHERE idempotency_key = 'cap-2'`,
    );
    await h.publish(sendFailedV1, {
      sendId: failed.message_id,
      locationId: LOC,
      userId: 'usr_capped',
      contactId: 'ct_jane',
      conversationId: conversationIdFor(LOC, 'ct_jane'),
      route: null,
      code: 'provider_rejected',
      message: 'Rejected by the provider',
      failedAt: new Date().toISOString(),
    });
    expect((await send('usr_capped', 'cap-4', {})).status).toBe(202);
  });

  it('a send moves to sent with the provider ids on send.succeeded, and to failed with its reason on send.failed (listed as a sync event)', async () => {
    const a = await send('usr_gmail', 'key-outcome-a', { subject: 'Outcome A' });
    const b = await send('usr_gmail', 'key-outcome-b', { subject: 'Outcome B' });
    const conversationId = conversationIdFor(LOC, 'ct_jane');
    const route = {
      kind: 'mailbox' as const,
      connectionId: gmail.connectionId,
      provider: 'google' as const,
      mailboxKey: gmail.mailboxKey,
      fromAddress: gmail.emailAddress,
    };
    await h.publish(sendSucceededV1, {
      sendId: a.body.messageId,
      locationId: LOC,
      userId: 'usr_gmail',
      contactId: 'ct_jane',
      conversationId,
      route,
      provider: 'google',
      providerMessageId: 'gm-sent-a',
      providerThreadId: 'gt-a',
      rfcMessageId: '<mb.a@acme.example>',
      sentAt: '2026-11-20T10:00:00.000Z',
    });
    const failure = await h.publish(sendFailedV1, {
      sendId: b.body.messageId,
      locationId: LOC,
      userId: 'usr_gmail',
      contactId: 'ct_jane',
      conversationId,
      route,
      code: 'sending_cap_reached',
      message: 'The mailbox reached its cap of 500 individual emails per 24 hours',
      failedAt: '2026-11-20T10:00:01.000Z',
    });
    const get = (id: string) =>
      h
        .http()
        .get(`/v1/locations/${LOC}/messages/${id}`)
        .set('Authorization', `Bearer ${token('usr_gmail')}`);
    expect((await get(a.body.messageId)).body).toMatchObject({
      status: 'sent',
      sentAt: '2026-11-20T10:00:00.000Z',
      provider: { name: 'google', messageId: 'gm-sent-a', threadId: 'gt-a' },
      failure: null,
    });
    expect((await get(b.body.messageId)).body).toMatchObject({
      status: 'failed',
      failure: { code: 'sending_cap_reached', message: expect.stringContaining('cap of 500') },
    });
    // Redelivered: still one sync event.
    await h.republish(failure);
    const events = await h
      .http()
      .get(`/v1/locations/${LOC}/sync-events?userId=usr_gmail`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .expect(200);
    expect(events.body.items.filter((e: { messageId: string }) => e.messageId === b.body.messageId)).toEqual([
      expect.objectContaining({
        kind: 'send_failed',
        reason: 'sending_cap_reached',
        rule: 'SND-4',
        subject: 'Outcome B',
        contactId: 'ct_jane',
        connectionId: gmail.connectionId,
      }),
    ]);
  });

  it('CON-3: a send accepted while this service still knew the old mailbox shows the From it went out with, not the accept-time guess', async () => {
    const a = await send('usr_gmail', 'key-con3-from', { subject: 'After update email' });
    const get = () =>
      h
        .http()
        .get(`/v1/locations/${LOC}/messages/${a.body.messageId}`)
        .set('Authorization', `Bearer ${token('usr_gmail')}`);
    // Guessed at accept time from this service's view of the connection.
    expect((await get()).body.from).toEqual({ address: gmail.emailAddress });
    // sync-engine had already routed it through the mailbox the email was updated to.
    const newAddress = 'sam.new@gmail.example';
    await h.publish(sendSucceededV1, {
      sendId: a.body.messageId,
      locationId: LOC,
      userId: 'usr_gmail',
      contactId: 'ct_jane',
      conversationId: conversationIdFor(LOC, 'ct_jane'),
      route: {
        kind: 'mailbox',
        connectionId: '7c0b8a2e-5f1d-4c1b-9d7e-0a4f3c2b1e00',
        provider: 'google',
        mailboxKey: `google:${newAddress}`,
        fromAddress: newAddress,
      },
      provider: 'google',
      providerMessageId: 'gm-sent-con3',
      providerThreadId: 'gt-con3',
      rfcMessageId: '<mb.con3@acme.example>',
      sentAt: '2026-11-20T11:00:00.000Z',
      from: { address: newAddress },
    });
    expect((await get()).body).toMatchObject({ status: 'sent', from: { address: newAddress } });
  });

  it('ATT-2: a send sync-engine refused (send.refused, its own topic) is failed with its reason, like a gateway failure', async () => {
    const c = await send('usr_gmail', 'key-refused', { subject: 'Refused C' });
    const refusal = await h.publish(sendRefusedV1, {
      sendId: c.body.messageId,
      locationId: LOC,
      userId: 'usr_gmail',
      contactId: 'ct_jane',
      conversationId: conversationIdFor(LOC, 'ct_jane'),
      route: null,
      code: 'attachment_too_large',
      message: 'plans.pdf is 31 MB; Gmail sends attachments up to 25 MB',
      failedAt: '2026-11-20T10:00:02.000Z',
    });
    await h.republish(refusal);
    const message = await h
      .http()
      .get(`/v1/locations/${LOC}/messages/${c.body.messageId}`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .expect(200);
    expect(message.body).toMatchObject({
      status: 'failed',
      failure: { code: 'attachment_too_large', message: expect.stringContaining('plans.pdf') },
    });
    const events = await h
      .http()
      .get(`/v1/locations/${LOC}/sync-events?userId=usr_gmail`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .expect(200);
    expect(events.body.items.filter((e: { messageId: string }) => e.messageId === c.body.messageId)).toEqual([
      expect.objectContaining({ kind: 'send_failed', reason: 'attachment_too_large' }),
    ]);
  });

  it('SND-5: replyToMessageId is resolved into the thread to reply in', async () => {
    const inbound = synced(LOC, 'ct_jane', {
      message: {
        providerMessageId: 'gm-in-1',
        providerThreadId: 'gt-thread-9',
        rfcMessageId: '<reply-me@example.com>',
        references: ['<root@acme.example>'],
        subject: 'Re: Your quote',
      },
    });
    await h.publish(messageSyncedV1, inbound);
    const res = await send('usr_gmail', 'key-reply', {
      replyToMessageId: inbound.deliveryId,
      subject: 'Re: Your quote',
    });
    expect(res.status).toBe(202);
    await expectEventually(() => expect(requestsFor(res.body.messageId)).toHaveLength(1));
    expect((requestsFor(res.body.messageId)[0].payload as { replyTo: unknown }).replyTo).toEqual({
      messageId: inbound.deliveryId,
      rfcMessageId: '<reply-me@example.com>',
      references: ['<root@acme.example>'],
      provider: 'google',
      providerThreadId: 'gt-thread-9',
      subject: 'Re: Your quote',
    });

    const unknown = await send('usr_gmail', 'key-reply-unknown', {
      replyToMessageId: '1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('reply_to_message_not_found');
  });

  it('BCC-1: contact.create-requested creates the contact once and publishes it; an existing address creates nothing', async () => {
    const request = {
      locationId: LOC,
      contactId: 'ct_bcc_new',
      email: 'New.Person@example.com',
      name: 'New Person',
      assignedUserId: 'usr_gmail',
      requestedAt: '2026-11-20T11:00:00.000Z',
    };
    const event = await h.publish(contactCreateRequestedV1, request);
    await h.republish(event);
    await h.publish(contactCreateRequestedV1, request);
    await h.publish(contactCreateRequestedV1, {
      ...request,
      contactId: 'ct_bcc_dup',
      email: 'jane.doe@EXAMPLE.com',
    });
    const found = await h
      .http()
      .get(`/v1/locations/${LOC}/contacts/ct_bcc_new`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .expect(200);
    expect(found.body).toMatchObject({
      email: 'New.Person@example.com',
      assignedUserId: 'usr_gmail',
      revision: 1,
    });
    await h
      .http()
      .get(`/v1/locations/${LOC}/contacts/ct_bcc_dup`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .expect(404);
    await expectEventually(() =>
      expect(
        h.published.filter((e) => e.type === 'contact.upserted' && e.key === `${LOC}:ct_bcc_new`),
      ).toHaveLength(1),
    );
    await outboxDrained();
    expect(h.published.filter((e) => e.key === `${LOC}:ct_bcc_dup`)).toEqual([]);
  });

  it('enforces input limits: recipients, addresses, subject size, another user, an unknown contact, the body size', async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ address: `r${i}@example.com` }));
    const tooMany = await send('usr_gmail', 'lim-1', { to: many, cc: many });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({
      code: 'too_many_recipients',
      details: { max: 100, got: 120 },
    });

    const badAddress = await send('usr_gmail', 'lim-2', { to: [{ address: 'not an address' }] });
    expect(badAddress.status).toBe(400);
    expect(badAddress.body.error.code).toBe('invalid_request');

    const longSubject = await send('usr_gmail', 'lim-3', { subject: 'x'.repeat(1001) });
    expect(longSubject.status).toBe(400);

    const forAnother = await send('usr_gmail', 'lim-4', { userId: 'usr_outlook' });
    expect(forAnother.status).toBe(403);
    expect(forAnother.body.error.code).toBe('user_forbidden');

    const noContact = await send('usr_gmail', 'lim-5', {}, 'ct_nobody');
    expect(noContact.status).toBe(404);
    expect(noContact.body.error.code).toBe('contact_not_found');

    const tooLarge = await send('usr_gmail', 'lim-6', {
      attachments: [inline('x.png', Buffer.alloc(5 * MB, 1))],
    });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('payload_too_large');

    // Other routes keep the service-wide JSON limit.
    const bigContact = await h
      .http()
      .put(`/v1/locations/${LOC}/contacts/ct_big`)
      .set('Authorization', `Bearer ${token('usr_gmail')}`)
      .send({ email: 'big@example.com', name: 'x'.repeat(2 * MB) });
    expect(bigContact.status).toBe(413);

    const png = await send('usr_gmail', 'lim-7', { attachments: [inline('photo.png', PNG, 'image/png')] });
    expect(png.status).toBe(202);
  });
});
