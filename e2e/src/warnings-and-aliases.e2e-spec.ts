import { randomUUID } from 'node:crypto';
import { CrmUser, copies, createMailbox, eventually, header, waitUntilObserved } from './harness/crm';
import { Platform, api, startPlatform } from './harness/platform.harness';

jest.setTimeout(300_000);

const SEVEN_DAYS_MS = 7 * 86_400_000;

/**
 * Issue 20 (part B) through the whole platform: warnings before a break and admin consent (CON-7), sending as a
 * verified alias with the mailbox's signature (SND-7). The emulators play a Google OAuth app in "Testing" publishing
 * status (7-day refresh tokens) and a Microsoft tenant where only an administrator may consent.
 */
describe('warnings before a break, admin consent, aliases and signature (e2e)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({
      label: 'warnings-aliases',
      sandbox: { google: { testingMode: true }, microsoft: { adminConsentRequired: true } },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it('CON-7: a Google connection of a Testing-mode app shows its warning with the date its refresh token dies (7 days after consent)', async () => {
    const box = createMailbox(platform, 'google', 'tess');
    const crm = new CrmUser(platform, 'loc_w1', 'usr_tess');
    const before = Date.now();
    await crm.connect('google', box);
    const after = Date.now();
    const status = await crm.connection();
    const body = status.body as unknown as {
      expiresAt: string;
      warning: { code: string; expiresAt: string; message: string };
    };
    expect(body.warning).toMatchObject({ code: 'refresh_token_expiring', expiresAt: body.expiresAt });
    expect(Date.parse(body.expiresAt)).toBeGreaterThanOrEqual(before + SEVEN_DAYS_MS - 5_000);
    expect(Date.parse(body.expiresAt)).toBeLessThanOrEqual(after + SEVEN_DAYS_MS);
  });

  it('CON-7: a Microsoft tenant that requires admin consent ends in admin_consent_required with the tenant admin-consent URL, in the redirect and in the status', async () => {
    const box = createMailbox(platform, 'microsoft', 'mira');
    const crm = new CrmUser(platform, 'loc_w2', 'usr_mira');
    const back = await crm.consent('microsoft', box);
    expect(back.searchParams.get('status')).toBe('admin_consent_required');
    expect(back.searchParams.get('reason')).toBe('admin_consent_required');
    const env = platform.sandbox.platformEnv();
    const adminUrl = new URL(back.searchParams.get('adminConsentUrl') ?? '');
    expect(`${adminUrl.origin}${adminUrl.pathname}`).toBe(
      `${new URL(env.MICROSOFT_AUTHORITY_HOST).origin}/${env.MICROSOFT_TENANT}/adminconsent`,
    );
    expect(adminUrl.searchParams.get('client_id')).toBe(env.MICROSOFT_CLIENT_ID);
    expect(adminUrl.searchParams.get('redirect_uri')).toBe(
      `${platform.urls['identity-connections']}/v1/oauth/microsoft/callback`,
    );
    const status = await crm.connection();
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      status: 'admin_consent_required',
      adminConsentUrl: adminUrl.toString(),
      warning: { code: 'admin_consent_required' },
    });
  });

  it('SND-7: a CRM send from a verified alias goes out from it with the send-as signature in both bodies; an unverified from is a 422 and nothing is sent', async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const alias = sam.replace(/^sam-/, 'sales-');
    const contact = createMailbox(platform, 'google', 'client');
    platform.sandbox.control.setSendAs(sam, {
      aliases: [
        {
          address: alias,
          displayName: 'Sam at Sales',
          signature: '<div><b>Sam</b> &amp; the sales desk</div>',
        },
        { address: sam.replace(/^sam-/, 'ceo-'), verified: false },
      ],
    });
    const crm = new CrmUser(platform, 'loc_w3', 'usr_sam');
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    const connectionUrl = `${platform.urls['identity-connections']}/v1/locations/loc_w3/users/usr_sam/email-connection`;
    const patched = await api(connectionUrl, {
      method: 'PATCH',
      token: crm.token,
      body: { appendSignature: true },
    });
    expect(patched.status).toBe(200);
    const sendAs = await api<{ addresses: Array<{ address: string }> }>(`${connectionUrl}/send-as`, {
      token: crm.token,
    });
    expect(sendAs.status).toBe(200);
    expect(sendAs.body.addresses.map((a) => a.address)).toEqual([sam, alias]);
    await crm.putContact('ct_c', { email: contact, assignedUserId: 'usr_sam' });

    const subject = `From the alias ${randomUUID().slice(0, 6)}`;
    const sent = await crm.sendAndWait('ct_c', {
      from: { name: 'Sam at Sales', address: alias },
      subject,
      text: 'Here is the quote.',
      html: '<p>Here is the quote.</p>',
    });
    expect(sent.status).toBe('sent');
    const received = await eventually(() => {
      const inbox = copies(platform, contact, subject).inbox;
      expect(inbox).toHaveLength(1);
      return inbox[0];
    });
    expect(received.from).toEqual({ name: 'Sam at Sales', address: alias });
    expect(received.text?.replace(/\r\n/g, '\n')).toBe('Here is the quote.\n\n-- \nSam & the sales desk');
    expect(received.html).toContain(
      '<div class="mailbridge-signature"><div><b>Sam</b> &amp; the sales desk</div></div>',
    );
    // The MIME Gmail sent (its Sent copy and the contact's copy): the From header is the alias.
    expect(header(received, 'From')).toBe(`Sam at Sales <${alias}>`);
    const outbound = copies(platform, sam, subject).sent;
    expect(outbound).toHaveLength(1);
    expect(header(outbound[0], 'From')).toBe(`Sam at Sales <${alias}>`);

    const refused = await crm.send('ct_c', {
      from: { address: sam.replace(/^sam-/, 'ceo-') },
      subject: `Unverified ${subject}`,
      text: 'Hi',
    });
    expect(refused.status).toBe(422);
    expect((refused.body as unknown as { error: { code: string } }).error.code).toBe('from_not_verified');
    expect(copies(platform, sam, `Unverified ${subject}`).sent).toHaveLength(0);
  });
});
