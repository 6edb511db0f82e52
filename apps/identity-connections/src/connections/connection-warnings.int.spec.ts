import { randomUUID } from 'node:crypto';
import { Topics, eventCatalog, mailboxSyncHealthChangedV1 } from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import {
  GOOGLE_OTHER,
  GOOGLE_USER,
  Harness,
  MICROSOFT_OTHER,
  MICROSOFT_USER,
  RETURN_URL,
  connectMailbox,
  followCallback,
  pick,
  startHarness,
} from '../testing/identity-harness';
import { ConnectionsRepository } from './connections.repository';

const SEVEN_DAYS_MS = 7 * 86_400_000;

describe('identity-connections: warnings before a break and admin consent (CON-7)', () => {
  let h: Harness;
  const status = (loc: string, user: string) =>
    h
      .http()
      .get(`/v1/locations/${loc}/users/${user}/email-connection`)
      .set('Authorization', `Bearer ${h.token(loc, user)}`);

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => {
    h.sandbox.control.setOAuthPolicy({ googleTestingMode: false, microsoftAdminConsentRequired: false });
  });

  it('CON-7: a Google app in Testing publishing status: the status and a connection.warning carry the 7-day end of the refresh token', async () => {
    h.sandbox.control.setOAuthPolicy({ googleTestingMode: true });
    const before = Date.now();
    const { returnedTo } = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_w1',
      userId: 'usr_sam',
      mailbox: GOOGLE_USER,
    });
    const after = Date.now();
    expect(returnedTo.searchParams.get('status')).toBe('connected');

    const res = await status('loc_w1', 'usr_sam');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'active', warning: { code: 'refresh_token_expiring' } });
    const expiresAt = Date.parse(res.body.expiresAt as string);
    // Google's refresh_token_expires_in counts from issue: 7 days (less a second of rounding) after consent.
    expect(expiresAt).toBeGreaterThanOrEqual(before + SEVEN_DAYS_MS - 5_000);
    expect(expiresAt).toBeLessThanOrEqual(after + SEVEN_DAYS_MS);
    expect(res.body.warning.expiresAt).toBe(res.body.expiresAt);

    const warnings = pick(h.events, 'connection.warning').filter(
      (e) => (e.payload as { locationId: string }).locationId === 'loc_w1',
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0].payload).toMatchObject({
      userId: 'usr_sam',
      connection: { connectionId: res.body.connectionId, status: 'active' },
      warning: { code: 'refresh_token_expiring', expiresAt: res.body.expiresAt },
    });
  });

  it('CON-7: a production Google app: no expiry, no warning, no warning event', async () => {
    const { returnedTo } = await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_w2',
      userId: 'usr_sam',
      mailbox: GOOGLE_USER,
    });
    expect(returnedTo.searchParams.get('status')).toBe('connected');
    const res = await status('loc_w2', 'usr_sam');
    expect(res.body).toMatchObject({ status: 'active', expiresAt: null, warning: null });
    expect(
      pick(h.events, 'connection.warning').filter(
        (e) => (e.payload as { locationId: string }).locationId === 'loc_w2',
      ),
    ).toHaveLength(0);
  });

  it('CON-7: watch renewals failing 3 times in a row (mail-gateway health reports) warn with the date the watch lapses, once; a successful renewal ends the warning', async () => {
    await connectMailbox(h, {
      provider: 'google',
      locationId: 'loc_w5',
      userId: 'usr_casey',
      mailbox: GOOGLE_OTHER,
    });
    const connectionId = (await status('loc_w5', 'usr_casey')).body.connectionId as string;
    // Issue 16: the reports' rows come back with their UPDATE; the warning check reads none of them again.
    const reads = jest.spyOn(h.svc.app.get(ConnectionsRepository), 'findById');
    const lapse = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const mailboxId = randomUUID();
    const report = async (renewalFailures: number, at: number) =>
      h.bus.publish([
        {
          topic: Topics.mailMailboxes,
          envelope: eventCatalog.create(
            mailboxSyncHealthChangedV1,
            {
              mailboxId,
              mailboxKey: `google:${GOOGLE_OTHER}`,
              connections: [{ connectionId, locationId: 'loc_w5', userId: 'usr_casey' }],
              stage: renewalFailures > 0 ? 'error' : 'watching',
              lastSyncedAt: null,
              lastNotificationAt: null,
              lastError: null,
              watch: { expiresAt: lapse, renewalFailures },
            },
            { occurredAt: new Date(Date.now() + at) },
          ),
        },
      ]);
    const warningsHere = () =>
      pick(h.events, 'connection.warning').filter(
        (e) => (e.payload as { locationId: string }).locationId === 'loc_w5',
      );
    await report(2, 1);
    await expectEventually(async () => expect((await status('loc_w5', 'usr_casey')).body.warning).toBeNull());
    await report(3, 2);
    await expectEventually(async () =>
      expect((await status('loc_w5', 'usr_casey')).body).toMatchObject({
        expiresAt: lapse,
        warning: { code: 'renewal_failing', expiresAt: lapse },
      }),
    );
    await report(4, 3);
    await expectEventually(async () => expect(warningsHere()).toHaveLength(1));
    expect(warningsHere()[0].payload).toMatchObject({
      warning: { code: 'renewal_failing', expiresAt: lapse },
    });
    await report(0, 4);
    await expectEventually(async () => expect((await status('loc_w5', 'usr_casey')).body.warning).toBeNull());
    expect(warningsHere()).toHaveLength(1);
    expect(reads.mock.calls.filter(([id]) => id === connectionId)).toEqual([]);
    reads.mockRestore();
  });

  it('CON-7: a Microsoft tenant that requires admin consent: the callback and the status say admin_consent_required with the tenant admin-consent URL; after the admin consents, the user connects', async () => {
    h.sandbox.control.setOAuthPolicy({ microsoftAdminConsentRequired: true });
    const { returnedTo, callbackUrl } = await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_w3',
      userId: 'usr_sam',
      mailbox: MICROSOFT_USER,
    });
    // The emulator answered as Entra does when nobody may consent: consent_required, AADSTS65001.
    const callback = new URL(callbackUrl);
    expect(callback.searchParams.get('error')).toBe('consent_required');
    expect(callback.searchParams.get('error_description')).toMatch(/^AADSTS65001:/);

    expect(`${returnedTo.origin}${returnedTo.pathname}`).toBe('http://localhost:3000/settings/email');
    expect(returnedTo.searchParams.get('status')).toBe('admin_consent_required');
    expect(returnedTo.searchParams.get('reason')).toBe('admin_consent_required');
    const adminUrl = new URL(returnedTo.searchParams.get('adminConsentUrl') ?? '');
    const authority = new URL(h.env.MICROSOFT_AUTHORITY_HOST);
    expect(`${adminUrl.origin}${adminUrl.pathname}`).toBe(
      `${authority.origin}/${h.env.MICROSOFT_TENANT}/adminconsent`,
    );
    expect(adminUrl.searchParams.get('client_id')).toBe(h.env.MICROSOFT_CLIENT_ID);
    expect(adminUrl.searchParams.get('redirect_uri')).toBe(`${h.publicUrl}/v1/oauth/microsoft/callback`);

    const res = await status('loc_w3', 'usr_sam');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      connectionId: null,
      provider: 'microsoft',
      status: 'admin_consent_required',
      adminConsentUrl: adminUrl.toString(),
      warning: { code: 'admin_consent_required', adminConsentUrl: adminUrl.toString() },
    });
    const rows = await h.sql(`SELECT 1 FROM identity_connections.connections WHERE location_id = 'loc_w3'`);
    expect(rows).toHaveLength(0);
    const told = pick(h.events, 'connection.warning').filter(
      (e) => (e.payload as { locationId: string }).locationId === 'loc_w3',
    );
    expect(told).toHaveLength(1);
    expect(told[0].payload).toMatchObject({
      userId: 'usr_sam',
      connection: null,
      warning: { code: 'admin_consent_required', adminConsentUrl: adminUrl.toString() },
    });
    expect(told[0].key).toBe('loc_w3:usr_sam');

    // The tenant admin opens the URL and accepts (the emulator grants the app tenant-wide).
    const admin = await fetch(adminUrl, { redirect: 'manual' });
    expect(admin.status).toBe(302);
    expect(new URL(admin.headers.get('location') ?? '').searchParams.get('admin_consent')).toBe('True');

    const again = await connectMailbox(h, {
      provider: 'microsoft',
      locationId: 'loc_w3',
      userId: 'usr_sam',
      mailbox: MICROSOFT_USER,
    });
    expect(again.returnedTo.searchParams.get('status')).toBe('connected');
    const after = await status('loc_w3', 'usr_sam');
    expect(after.body).toMatchObject({ status: 'active', warning: null, emailAddress: MICROSOFT_USER });
    expect(after.body.adminConsentUrl).toBeUndefined();
  });

  it('CON-7: AADSTS65001 at the token step (consent withdrawn after the code was issued) is the same admin_consent_required outcome, not a generic error', async () => {
    h.sandbox.control.setConsent('microsoft', { mode: 'approve', as: MICROSOFT_OTHER });
    const started = await h
      .http()
      .post('/v1/locations/loc_w4/users/usr_robin/email-connection/microsoft/authorize')
      .set('Authorization', `Bearer ${h.token('loc_w4', 'usr_robin')}`)
      .send({ returnUrl: RETURN_URL });
    expect(started.status).toBe(200);
    const atProvider = await fetch(started.body.authorizeUrl as string, { redirect: 'manual' });
    const callbackUrl = atProvider.headers.get('location') ?? '';
    expect(new URL(callbackUrl).searchParams.get('code')).toBeTruthy();
    // A fresh app registration in the emulator has no admin consent yet: require it now, before the code is redeemed.
    h.sandbox.control.setOAuthPolicy({ microsoftAdminConsentRequired: true });
    h.sandbox.control.resetAdminConsent();
    const returnedTo = await followCallback(callbackUrl);
    expect(returnedTo.searchParams.get('status')).toBe('admin_consent_required');
    expect(returnedTo.searchParams.get('adminConsentUrl')).toContain('/adminconsent?client_id=');
    const res = await status('loc_w4', 'usr_robin');
    expect(res.body).toMatchObject({ status: 'admin_consent_required' });
  });
});
