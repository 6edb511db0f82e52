import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectionConnectedV1, type ConnectionSnapshot } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { connection } from '../testing/events';
import { Harness, startHarness } from '../testing/harness';

const LOC = 'loc_sendas';

describe('conversations: an individual send may use a verified send-as address as From (SND-7)', () => {
  let h: Harness;
  let stub: http.Server;
  let gmail: ConnectionSnapshot;
  let answer: { status: number; body: unknown } = { status: 200, body: {} };
  const asked: string[] = [];

  beforeAll(async () => {
    // identity-connections' internal send-as route, as it answers (its own tests read it from the provider).
    stub = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    h = await startHarness({
      IDENTITY_CONNECTIONS_URL: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
    });
    gmail = connection({
      locationId: LOC,
      userId: 'usr_sam',
      provider: 'google',
      emailAddress: 'sam@acme.example',
    });
    await h.publish(connectionConnectedV1, { connection: gmail });
    await h
      .http()
      .put(`/v1/locations/${LOC}/contacts/ct_jane`)
      .set('Authorization', `Bearer ${h.svc.token(LOC, 'usr_sam')}`)
      .send({ email: 'jane@example.com', name: 'Jane' })
      .expect(201);
  });
  afterAll(async () => {
    await h?.close();
    await new Promise<void>((resolve) => (stub ? stub.close(() => resolve()) : resolve()));
  });
  beforeEach(() => {
    asked.length = 0;
    answer = {
      status: 200,
      body: {
        mailboxAddress: 'sam@acme.example',
        addresses: [
          { address: 'sam@acme.example', displayName: 'Sam', primary: true, signature: null },
          { address: 'sales@acme.example', displayName: 'Sales', primary: false, signature: '<b>Sales</b>' },
        ],
        appendSignature: true,
        signature: null,
      },
    };
  });

  const send = (key: string, from: { address: string; name?: string }) =>
    h
      .http()
      .post(`/v1/locations/${LOC}/contacts/ct_jane/emails`)
      .set('Authorization', `Bearer ${h.svc.token(LOC, 'usr_sam')}`)
      .set('Idempotency-Key', key)
      .send({ kind: 'individual', userId: 'usr_sam', from, subject: 'Quote', text: 'Hi Jane' });
  const stored = async () =>
    Number(
      (
        await h.sql<{ n: string }>(
          `SELECT count(*) AS n FROM conversations.messages WHERE location_id = $1`,
          [LOC],
        )
      )[0].n,
    );
  const requested = () => h.published.filter((e) => e.type === 'email.requested');

  it('SND-7: a verified alias is accepted and requested with that From', async () => {
    const res = await send('k-alias', { name: 'Sam Sales', address: 'Sales@Acme.example' });
    expect(res.status).toBe(202);
    expect(asked).toEqual([`/internal/connections/${gmail.connectionId}/send-as`]);
    await expectEventually(() => {
      const event = requested().find(
        (e) => (e.payload as { messageId: string }).messageId === res.body.messageId,
      );
      expect(event?.payload).toMatchObject({ from: { name: 'Sam Sales', address: 'Sales@Acme.example' } });
    });
  });

  it('SND-7: an unverified From is a 422 from_not_verified naming the allowed addresses; nothing stored or requested', async () => {
    await expectEventually(async () =>
      expect(await h.sql('SELECT event_id FROM conversations.outbox')).toEqual([]),
    );
    const before = { rows: await stored(), events: requested().length };
    const res = await send('k-bad', { address: 'ceo@acme.example' });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      error: {
        code: 'from_not_verified',
        message: expect.stringContaining('ceo@acme.example'),
        details: { from: 'ceo@acme.example', allowed: ['sam@acme.example', 'sales@acme.example'] },
      },
    });
    expect(await stored()).toBe(before.rows);
    expect(requested()).toHaveLength(before.events);
  });

  it('SND-7: the connected address itself needs no lookup; an unanswerable lookup is a 503, nothing queued', async () => {
    expect((await send('k-self', { address: 'SAM@acme.example' })).status).toBe(202);
    expect(asked).toEqual([]);
    answer = { status: 500, body: { error: { code: 'internal' } } };
    const before = await stored();
    const res = await send('k-down', { address: 'sales@acme.example' });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('send_as_unavailable');
    expect(await stored()).toBe(before);
  });
});
