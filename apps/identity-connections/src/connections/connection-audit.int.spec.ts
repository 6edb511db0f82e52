import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventCatalog, mailboxAuditedV1, Topics, type PayloadOf } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { GOOGLE_USER, Harness, connectMailbox, startHarness } from '../testing/identity-harness';

const auth = (h: Harness, loc: string, user: string) => ({ Authorization: `Bearer ${h.token(loc, user)}` });
const PATH = '/v1/locations/loc_aud/users/usr_aud/email-connection';

/**
 * Issue 15 (SYN-10) on identity-connections: the CRM reads the latest completeness audit of its connection's
 * mailbox beside the connection status, and can run one now (mail-gateway's internal route, played by the test).
 */
describe('identity-connections: completeness audit for the CRM (SYN-10)', () => {
  let h: Harness;
  let gateway: http.Server;
  const calls: Array<{ url: string; authorization: string | undefined }> = [];
  const report = (status: 'complete' | 'healing', checkedAt: string) => ({
    window: { from: '2026-11-19T09:28:00.000Z', to: '2026-11-20T09:28:00.000Z' },
    checkedAt,
    providerMessages: 42,
    accounted: { synced: 12, notSynced: 28, skipped: 1, quarantined: 1 },
    missing: status === 'healing' ? 2 : 0,
    healed: 2,
    status,
  });

  beforeAll(async () => {
    gateway = http.createServer((req, res) => {
      calls.push({ url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      // mail-gateway's answer carries operator fields too; the CRM sees the report's fields only.
      res.end(
        JSON.stringify({ ...report('healing', '2026-11-20T09:45:00.000Z'), missingIds: ['x'], inFlight: 0 }),
      );
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const { port } = gateway.address() as AddressInfo;
    h = await startHarness({ MAIL_GATEWAY_URL: `http://127.0.0.1:${port}` });
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_aud',
      userId: 'usr_aud',
      mailbox: GOOGLE_USER,
    });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((r) => gateway?.close(r));
  });

  it('SYN-10: the latest audit report is readable beside the status (lastAuditAt, completeness); an older one never replaces it', async () => {
    const none = await h
      .http()
      .get(`${PATH}/audit`)
      .set(auth(h, 'loc_aud', 'usr_aud'));
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('audit_not_found');

    const status = await h
      .http()
      .get(PATH)
      .set(auth(h, 'loc_aud', 'usr_aud'))
      .expect(200);
    const { connectionId } = status.body as { connectionId: string };
    const audited = (r: ReturnType<typeof report>) =>
      eventCatalog.create(mailboxAuditedV1, {
        mailboxId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
        mailboxKey: `google:${GOOGLE_USER}`,
        connections: [{ connectionId, locationId: 'loc_aud', userId: 'usr_aud' }],
        ...(r as Omit<PayloadOf<typeof mailboxAuditedV1>, 'mailboxId' | 'mailboxKey' | 'connections'>),
      });
    await h.bus.publish([
      { topic: Topics.mailMailboxes, envelope: audited(report('complete', '2026-11-20T09:30:00.000Z')) },
    ]);
    await expectEventually(async () => {
      const res = await h
        .http()
        .get(`${PATH}/audit`)
        .set(auth(h, 'loc_aud', 'usr_aud'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(report('complete', '2026-11-20T09:30:00.000Z'));
    });
    await h.bus.publish([
      { topic: Topics.mailMailboxes, envelope: audited(report('healing', '2026-11-20T09:00:00.000Z')) },
    ]);
    const after = await h
      .http()
      .get(PATH)
      .set(auth(h, 'loc_aud', 'usr_aud'))
      .expect(200);
    expect(after.body).toMatchObject({ lastAuditAt: '2026-11-20T09:30:00.000Z', completeness: 'complete' });

    // Tenancy as for every CRM route: another location's token is refused.
    const foreign = await h
      .http()
      .get(`${PATH}/audit`)
      .set(auth(h, 'loc_other', 'usr_aud'));
    expect(foreign.status).toBe(403);
  });

  it("SYN-10: POST runs an audit now on mail-gateway's internal route and answers its report", async () => {
    const res = await h
      .http()
      .post(`${PATH}/audit`)
      .set(auth(h, 'loc_aud', 'usr_aud'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual(report('healing', '2026-11-20T09:45:00.000Z'));
    // Read right after, the report is there (before mail-gateway's mailbox.audited event is consumed).
    const after = await h
      .http()
      .get(`${PATH}/audit`)
      .set(auth(h, 'loc_aud', 'usr_aud'));
    expect(after.status).toBe(200);
    expect(after.body).toEqual(report('healing', '2026-11-20T09:45:00.000Z'));
    expect(calls).toEqual([
      {
        url: `/internal/mailboxes/${encodeURIComponent(`google:${GOOGLE_USER}`)}/audit`,
        authorization: `Bearer ${h.internalApiToken}`,
      },
    ]);
  });
});
