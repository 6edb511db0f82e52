import { adminConsentUrl, connectionWarning, missingScopes, sameWarning } from './connection-warning.rule';

const now = new Date('2026-12-01T10:00:00.000Z');
const GMAIL = [
  'openid',
  'https://www.googleapis.com/auth/userinfo.email',
  'https://www.googleapis.com/auth/gmail.modify',
];
const GRAPH = ['Mail.ReadWrite', 'Mail.Send', 'User.Read', 'openid', 'profile', 'email'];

describe('connection warnings (CON-7)', () => {
  it('CON-7: a Google Testing-mode grant warns with the date the refresh token dies', () => {
    const end = new Date(now.getTime() + 7 * 86_400_000);
    const w = connectionWarning({
      provider: 'google',
      status: 'active',
      grantedScopes: GMAIL,
      refreshTokenExpiresAt: end,
      now,
    });
    expect(w).toMatchObject({ code: 'refresh_token_expiring', expiresAt: end.toISOString() });
    expect(w?.message).toContain('Testing');
  });

  it('CON-7: no warning for an unlimited grant with every needed scope, nor for a connection that is not active', () => {
    expect(
      connectionWarning({
        provider: 'google',
        status: 'active',
        grantedScopes: GMAIL,
        refreshTokenExpiresAt: null,
        now,
      }),
    ).toBeNull();
    expect(
      connectionWarning({
        provider: 'microsoft',
        status: 'active',
        grantedScopes: GRAPH,
        refreshTokenExpiresAt: null,
        now,
      }),
    ).toBeNull();
    expect(
      connectionWarning({
        provider: 'google',
        status: 'reauth_required',
        grantedScopes: [],
        refreshTokenExpiresAt: new Date(now.getTime() + 1000),
        now,
      }),
    ).toBeNull();
  });

  it('CON-7: a known end far away (beyond 14 days) does not warn yet', () => {
    expect(
      connectionWarning({
        provider: 'google',
        status: 'active',
        grantedScopes: GMAIL,
        refreshTokenExpiresAt: new Date(now.getTime() + 30 * 86_400_000),
        now,
      }),
    ).toBeNull();
  });

  it('CON-7: a granted scope set missing what sync needs warns first, naming the scope', () => {
    expect(missingScopes('microsoft', ['https://graph.microsoft.com/Mail.ReadWrite', 'User.Read'])).toEqual([
      'Mail.Send',
    ]);
    expect(missingScopes('google', ['https://mail.google.com/'])).toEqual([]);
    const w = connectionWarning({
      provider: 'google',
      status: 'active',
      grantedScopes: ['openid'],
      refreshTokenExpiresAt: new Date(now.getTime() + 86_400_000),
      now,
    });
    expect(w).toMatchObject({
      code: 'scope_missing',
      missingScopes: ['https://www.googleapis.com/auth/gmail.modify'],
    });
  });

  it('CON-7: renewals failing N times in a row warn with the date the watch lapses; fewer failures do not', () => {
    const lapse = new Date(now.getTime() + 2 * 86_400_000);
    const base = {
      provider: 'microsoft' as const,
      status: 'active',
      grantedScopes: GRAPH,
      refreshTokenExpiresAt: null,
      now,
    };
    expect(connectionWarning({ ...base, renewal: { consecutiveFailures: 2, expiresAt: lapse } })).toBeNull();
    expect(
      connectionWarning({ ...base, renewal: { consecutiveFailures: 3, expiresAt: lapse } }),
    ).toMatchObject({
      code: 'renewal_failing',
      expiresAt: lapse.toISOString(),
    });
    // The earliest end wins.
    const soonerToken = new Date(now.getTime() + 86_400_000);
    expect(
      connectionWarning({
        ...base,
        refreshTokenExpiresAt: soonerToken,
        renewal: { consecutiveFailures: 5, expiresAt: lapse },
      })?.code,
    ).toBe('refresh_token_expiring');
  });

  it('CON-7: the admin-consent URL is built from the configured authority, tenant, client and redirect URI', () => {
    const url = new URL(
      adminConsentUrl(
        'https://login.microsoftonline.com/',
        'contoso.onmicrosoft.com',
        'app-1',
        'https://mb.example/v1/oauth/microsoft/callback',
      ),
    );
    expect(url.origin + url.pathname).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent',
    );
    expect(url.searchParams.get('client_id')).toBe('app-1');
    expect(url.searchParams.get('redirect_uri')).toBe('https://mb.example/v1/oauth/microsoft/callback');
  });

  it('sameWarning compares code and date', () => {
    const a = {
      code: 'refresh_token_expiring' as const,
      message: 'x',
      expiresAt: '2026-12-08T00:00:00.000Z',
    };
    expect(sameWarning(a, { ...a, message: 'y' })).toBe(true);
    expect(sameWarning(a, { ...a, expiresAt: null })).toBe(false);
    expect(sameWarning(null, null)).toBe(true);
  });
});
