import { ManualClock, startSandboxProviders, type SandboxProviders } from '../index';
import { googleOAuthClient, msalClient, trustExtraCa } from '../test-support/clients';

const GINA = 'gina@gmail.sandbox.test';
const OSCAR = 'oscar@outlook.sandbox.test';
const REDIRECT = 'http://127.0.0.1:9/callback';
const GMAIL_SCOPES = ['openid', 'email', 'https://www.googleapis.com/auth/gmail.modify'];
const SEVEN_DAYS_S = 7 * 86_400;

/** CON-7 scenarios the emulators play: a Testing-mode Google app, a Microsoft tenant that requires admin consent. */
describe('OAuth policies of the emulators (CON-7)', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      clock,
      mailboxes: [
        { provider: 'google', address: GINA },
        { provider: 'microsoft', address: OSCAR },
      ],
    });
    env = sandbox.platformEnv();
    trustExtraCa(sandbox.caCertPem);
  });
  afterAll(() => sandbox.close());

  async function googleCode(client: ReturnType<typeof googleOAuthClient>) {
    const url = client.generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      scope: GMAIL_SCOPES,
      login_hint: GINA,
    });
    const res = await fetch(url, { redirect: 'manual' });
    return new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '';
  }

  it('CON-7: a Testing-mode Google app issues Gmail refresh tokens with refresh_token_expires_in (7 days), counting down on refresh, dead after', async () => {
    sandbox.control.setOAuthPolicy({ googleTestingMode: true });
    const client = googleOAuthClient(env, REDIRECT);
    const { tokens } = await client.getToken(await googleCode(client));
    const issued = tokens as typeof tokens & { refresh_token_expires_in?: number };
    expect(issued.refresh_token_expires_in).toBe(SEVEN_DAYS_S - 1);

    clock.advance(86_400_000);
    const refreshed = await fetch(env.GOOGLE_OAUTH_TOKEN_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
        client_id: env.GOOGLE_CLIENT_ID,
        client_secret: env.GOOGLE_CLIENT_SECRET,
      }),
    });
    expect(await refreshed.json()).toMatchObject({ refresh_token_expires_in: SEVEN_DAYS_S - 86_400 - 1 });

    clock.advance(6 * 86_400_000 + 1000);
    client.setCredentials({ refresh_token: tokens.refresh_token });
    await expect(client.refreshAccessToken()).rejects.toThrow(/invalid_grant|expired or revoked/);
  });

  it('CON-7: a production Google app sends no refresh_token_expires_in', async () => {
    sandbox.control.setOAuthPolicy({ googleTestingMode: false });
    const client = googleOAuthClient(env, REDIRECT);
    const { tokens } = await client.getToken(await googleCode(client));
    expect(tokens).not.toHaveProperty('refresh_token_expires_in');
  });

  it('CON-7: a tenant requiring admin consent answers consent_required/AADSTS65001 until the admin consents at /adminconsent', async () => {
    sandbox.control.setOAuthPolicy({ microsoftAdminConsentRequired: true });
    const msal = msalClient(env);
    const authorize = async () => {
      const url = await msal.getAuthCodeUrl({
        scopes: ['Mail.ReadWrite'],
        redirectUri: REDIRECT,
        state: 's1',
        loginHint: OSCAR,
      });
      const res = await fetch(url, { redirect: 'manual' });
      return new URL(res.headers.get('location') ?? '');
    };
    const refused = await authorize();
    expect(refused.searchParams.get('error')).toBe('consent_required');
    expect(refused.searchParams.get('error_description')).toMatch(/^AADSTS65001: /);
    expect(refused.searchParams.get('state')).toBe('s1');
    expect(refused.searchParams.get('code')).toBeNull();

    const admin = new URL(`${env.MICROSOFT_AUTHORITY_HOST}/${env.MICROSOFT_TENANT}/adminconsent`);
    admin.searchParams.set('client_id', env.MICROSOFT_CLIENT_ID);
    admin.searchParams.set('redirect_uri', REDIRECT);
    const granted = await fetch(admin, { redirect: 'manual' });
    const back = new URL(granted.headers.get('location') ?? '');
    expect(back.searchParams.get('admin_consent')).toBe('True');
    expect(back.searchParams.get('tenant')).toMatch(/^[0-9a-f-]{36}$/);

    const allowed = await authorize();
    const result = await msal.acquireTokenByCode({
      code: allowed.searchParams.get('code') ?? '',
      scopes: ['Mail.ReadWrite'],
      redirectUri: REDIRECT,
    });
    expect(result.account?.username).toBe(OSCAR);
  });
});
