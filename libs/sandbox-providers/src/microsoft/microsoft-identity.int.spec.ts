import { InteractionRequiredAuthError } from '@azure/msal-node';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { startSandboxProviders, type SandboxProviders } from '../index';
import { graphClient, msalClient, trustExtraCa } from '../test-support/clients';

const USER = 'megan@contoso.sandbox.test';
const SCOPES = ['Mail.ReadWrite', 'Mail.Send', 'User.Read'];
const REDIRECT = 'http://127.0.0.1:9/callback';

describe('Microsoft identity emulator driven by @azure/msal-node', () => {
  let sandbox: SandboxProviders;
  let env: Record<string, string>;

  beforeAll(async () => {
    sandbox = await startSandboxProviders({
      mailboxes: [{ provider: 'microsoft', address: USER, displayName: 'Megan Bowen' }],
    });
    env = sandbox.platformEnv();
    trustExtraCa(sandbox.caCertPem);
  });
  afterAll(() => sandbox.close());

  async function signIn(cca = msalClient(env), tenant = 'common') {
    const url = await cca.getAuthCodeUrl({
      scopes: SCOPES,
      redirectUri: REDIRECT,
      state: 'st-1',
      loginHint: USER,
    });
    expect(url.startsWith(`${env.MICROSOFT_AUTHORITY_HOST}/${tenant}/oauth2/v2.0/authorize?`)).toBe(true);
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location') ?? '');
    expect(location.searchParams.get('state')).toBe('st-1');
    const code = location.searchParams.get('code') ?? '';
    const result = await cca.acquireTokenByCode({ code, scopes: SCOPES, redirectUri: REDIRECT });
    return { cca, result };
  }

  it('runs the authorization-code flow on an https authority taken from configuration', async () => {
    expect(env.MICROSOFT_AUTHORITY_HOST).toMatch(/^https:\/\//);
    const { result } = await signIn();
    expect(result.account?.username).toBe(USER);
    expect(result.account?.homeAccountId).toMatch(/^[0-9a-f-]{36}\.[0-9a-f-]{36}$/);
    expect(result.idTokenClaims).toMatchObject({ preferred_username: USER, ver: '2.0' });
    expect(result.scopes).toEqual(expect.arrayContaining(SCOPES));
    expect(result.fromCache).toBe(false);
  });

  it('serves acquireTokenSilent from the MSAL cache (short-form scopes are echoed)', async () => {
    const { cca, result } = await signIn();
    const silent = await cca.acquireTokenSilent({ account: result.account!, scopes: SCOPES });
    expect(silent.fromCache).toBe(true);
    expect(silent.accessToken).toBe(result.accessToken);
  });

  it('rolls the refresh token on every refresh', async () => {
    const { cca, result } = await signIn();
    const secrets = () =>
      Object.values(
        JSON.parse(cca.getTokenCache().serialize()).RefreshToken as Record<string, { secret: string }>,
      ).map((r) => r.secret);
    const before = secrets();
    const refreshed = await cca.acquireTokenSilent({
      account: result.account!,
      scopes: SCOPES,
      forceRefresh: true,
    });
    expect(refreshed.fromCache).toBe(false);
    expect(refreshed.accessToken).not.toBe(result.accessToken);
    expect(secrets()).toHaveLength(1);
    expect(secrets()[0]).not.toBe(before[0]);
  });

  it('throws InteractionRequiredAuthError (invalid_grant, bad_token) after the sessions are revoked', async () => {
    const { cca, result } = await signIn();
    sandbox.control.revokeTokens(USER);
    const error = await cca
      .acquireTokenSilent({ account: result.account!, scopes: SCOPES, forceRefresh: true })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InteractionRequiredAuthError);
    expect(error).toMatchObject({ errorCode: 'invalid_grant', subError: 'bad_token' });
    expect((error as Error).message).toContain('AADSTS50173');
  });

  it('sends the Graph bearer token over HTTPS to the configured Graph host', async () => {
    const { result } = await signIn();
    const me = await graphClient(env, () => result.accessToken)
      .api('/me')
      .get();
    expect(me).toMatchObject({ mail: USER, userPrincipalName: USER, displayName: 'Megan Bowen' });
    expect(me.id).toBe(result.account?.localAccountId);
  });

  it('rejects Graph calls whose token the client did not send (host missing from customHosts)', async () => {
    const { Client } = await import('@microsoft/microsoft-graph-client');
    const { result } = await signIn();
    const noCustomHosts = Client.initWithMiddleware({
      baseUrl: `${env.MICROSOFT_GRAPH_BASE_URL}/`,
      authProvider: { getAccessToken: async () => result.accessToken },
    });
    const error = await noCustomHosts
      .api('/me')
      .get()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect(error).toMatchObject({
      statusCode: 401,
      code: 'InvalidAuthenticationToken',
      message: 'Access token is empty.',
    });
  });

  it('shows the account picker when the request names no known mailbox, and honours a denial', async () => {
    const cca = msalClient(env);
    const url = await cca.getAuthCodeUrl({ scopes: SCOPES, redirectUri: REDIRECT, state: 'st-2' });
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(USER);
    sandbox.control.setConsent('microsoft', { mode: 'deny' });
    try {
      const denied = await fetch(url, { redirect: 'manual' });
      const location = new URL(denied.headers.get('location') ?? '');
      expect(location.searchParams.get('error')).toBe('access_denied');
      expect(location.searchParams.get('state')).toBe('st-2');
    } finally {
      sandbox.control.setConsent('microsoft', { mode: 'auto' });
    }
  });

  it.each(['organizations', 'sandbox.mailbridge.test'])(
    'works with the %s authority as well as common',
    async (tenant) => {
      const { result } = await signIn(msalClient({ ...env, MICROSOFT_TENANT: tenant }), tenant);
      expect(result.account?.username).toBe(USER);
      expect(result.tenantId).toBe(result.account?.tenantId);
    },
  );

  it('answers token errors in the AADSTS JSON shape', async () => {
    const res = await fetch(`${env.MICROSOFT_AUTHORITY_HOST}/common/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: env.MICROSOFT_CLIENT_ID,
        client_secret: 'wrong',
        grant_type: 'authorization_code',
        code: 'x',
      }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(body.error_description).toMatch(
      /^AADSTS7000215: .*\r\nTrace ID: .*\r\nCorrelation ID: .*\r\nTimestamp: /s,
    );
    expect(body).toHaveProperty('trace_id');
    expect(body).toHaveProperty('correlation_id');
  });
});
