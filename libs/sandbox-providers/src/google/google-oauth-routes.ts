import type { Clock } from '../shared/clock';
import type { ConsentSettings, PendingAuthorizations } from '../shared/consent';
import { renderConsentPage } from '../shared/consent';
import { HttpError, type RequestContext, Router, escapeHtml } from '../shared/http-kit';
import type { IdFactory } from '../shared/id-factory';
import type { SigningKey } from '../shared/key-material';
import { type GoogleAccounts, type GoogleOAuthClient, OAuthError } from './google-accounts';

export interface GoogleOAuthContext {
  accounts: GoogleAccounts;
  clock: Clock;
  ids: IdFactory;
  signingKey: SigningKey;
  consent: () => ConsentSettings;
  pending: PendingAuthorizations;
  /** Public base URL of the accounts server. */
  baseUrl: () => string;
}

function errorPage(ctx: RequestContext, status: number, code: string, detail: string): void {
  ctx.html(
    `<!doctype html><html><head><title>Error ${status} (${escapeHtml(code)})</title></head><body>` +
      `<h1>Access blocked: this app's request is invalid</h1><p>Error ${status}: ${escapeHtml(code)}</p>` +
      `<p>${escapeHtml(detail)}</p></body></html>`,
    status,
  );
}

function redirectUriAllowed(client: GoogleOAuthClient, uri: string): boolean {
  return client.redirectUris.length === 0 || client.redirectUris.includes(uri);
}

/** Google OAuth 2.0 + OpenID endpoints (accounts.google.com, oauth2.googleapis.com, www.googleapis.com/oauth2). */
export function googleOAuthRoutes(c: GoogleOAuthContext): Router {
  const router = new Router();

  const finish = (
    ctx: RequestContext,
    params: URLSearchParams,
    email: string | undefined,
    deny: boolean,
  ): void => {
    const redirectUri = params.get('redirect_uri') ?? '';
    const target = new URL(redirectUri);
    const state = params.get('state');
    if (deny || !email) {
      target.searchParams.set('error', 'access_denied');
      if (state !== null) target.searchParams.set('state', state);
      ctx.redirect(target.toString());
      return;
    }
    const account = c.accounts.account(email);
    if (!account) {
      errorPage(ctx, 400, 'invalid_request', `No sandbox Google account ${email}.`);
      return;
    }
    const requested = (params.get('scope') ?? '').split(/[\s+]+/).filter(Boolean);
    const consent = c.consent();
    // Granular consent: unticked scopes are not granted, but openid/email/profile always are.
    const scopes = consent.grantScopes
      ? requested.filter(
          (s) => consent.grantScopes?.includes(s) || ['openid', 'email', 'profile'].includes(s),
        )
      : requested;
    const prompt = (params.get('prompt') ?? '').split(/\s+/);
    const code = c.accounts.createCode({
      clientId: params.get('client_id') ?? '',
      redirectUri,
      scopes,
      sub: account.sub,
      offline: params.get('access_type') === 'offline',
      forceConsent: prompt.includes('consent'),
      codeChallenge: params.get('code_challenge') ?? undefined,
      codeChallengeMethod: params.get('code_challenge_method') ?? undefined,
      nonce: params.get('nonce') ?? undefined,
    });
    target.searchParams.set('code', code);
    target.searchParams.set('scope', scopes.join(' '));
    if (state !== null) target.searchParams.set('state', state);
    target.searchParams.set('authuser', '0');
    target.searchParams.set('prompt', 'consent');
    ctx.redirect(target.toString());
  };

  const authorize = (ctx: RequestContext): void => {
    const params = ctx.query;
    const client = c.accounts.clients.get(params.get('client_id') ?? '');
    if (!client) return errorPage(ctx, 401, 'invalid_client', 'The OAuth client was not found.');
    const redirectUri = params.get('redirect_uri');
    if (!redirectUri || !redirectUriAllowed(client, redirectUri)) {
      return errorPage(
        ctx,
        400,
        'redirect_uri_mismatch',
        `redirect_uri=${redirectUri ?? ''} is not registered.`,
      );
    }
    if (params.get('response_type') !== 'code') {
      const target = new URL(redirectUri);
      target.searchParams.set('error', 'unsupported_response_type');
      return ctx.redirect(target.toString());
    }
    const consent = c.consent();
    const hint = params.get('login_hint') ?? undefined;
    const hinted = hint && c.accounts.account(hint) ? hint : undefined;
    if (consent.mode === 'deny') return finish(ctx, params, undefined, true);
    if (consent.mode === 'approve' && (consent.as ?? hinted))
      return finish(ctx, params, consent.as ?? hinted, false);
    if (consent.mode === 'auto' && (hinted ?? consent.as))
      return finish(ctx, params, hinted ?? consent.as, false);
    const id = c.ids.base64url(18);
    c.pending.add(id, new URLSearchParams(params), c.clock.now());
    ctx.html(
      renderConsentPage({
        title: 'Sign in with Google',
        clientId: client.clientId,
        scopes: (params.get('scope') ?? '').split(/\s+/).filter(Boolean),
        mailboxes: c.accounts.listAccounts().map((a) => ({ address: a.email, name: a.name })),
        action: '/o/oauth2/v2/auth/decide',
        requestId: id,
      }),
    );
  };
  router.add('GET', '/o/oauth2/v2/auth', authorize);
  router.add('GET', '/o/oauth2/auth', authorize);
  router.add('POST', '/o/oauth2/v2/auth/decide', async (ctx) => {
    const form = await ctx.form();
    const pending = c.pending.take(form.get('request') ?? '');
    if (!pending) return errorPage(ctx, 400, 'invalid_request', 'The sign-in request expired; start again.');
    finish(ctx, pending.params, form.get('email') ?? undefined, form.get('deny') === '1');
  });

  const token = async (ctx: RequestContext): Promise<void> => {
    const form = await ctx.form();
    let clientId = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    const basic = /^Basic\s+(.+)$/i.exec(ctx.header('authorization') ?? '');
    if (basic) {
      const [id, s] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id);
      secret = decodeURIComponent(s ?? '');
    }
    try {
      const client = c.accounts.authenticateClient(clientId, secret);
      const grantType = form.get('grant_type');
      if (grantType === 'authorization_code') {
        ctx.json200(
          c.accounts.redeemCode(
            client,
            form.get('code') ?? '',
            form.get('redirect_uri') ?? undefined,
            form.get('code_verifier') ?? undefined,
          ),
          200,
          { 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate', pragma: 'no-cache' },
        );
      } else if (grantType === 'refresh_token') {
        ctx.json200(c.accounts.refresh(client, form.get('refresh_token') ?? ''), 200, {
          'cache-control': 'no-cache, no-store, max-age=0, must-revalidate',
        });
      } else {
        throw new OAuthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType ?? ''}`);
      }
    } catch (e) {
      if (e instanceof OAuthError)
        ctx.json200({ error: e.error, error_description: e.description }, e.status);
      else throw e;
    }
  };
  router.add('POST', '/token', token);
  router.add('POST', '/oauth2/v4/token', token);

  const revoke = async (ctx: RequestContext): Promise<void> => {
    const form = ctx.method === 'POST' ? await ctx.form() : new URLSearchParams();
    const tokenValue = ctx.query.get('token') ?? form.get('token') ?? '';
    if (!c.accounts.revokeToken(tokenValue)) {
      ctx.json200({ error: 'invalid_token', error_description: 'Token expired or revoked' }, 400);
      return;
    }
    ctx.json200({});
  };
  router.add('POST', '/revoke', revoke);
  router.add('GET', '/revoke', revoke);
  router.add('POST', '/o/oauth2/revoke', revoke);

  router.add('GET', '/tokeninfo', (ctx) => {
    const info = c.accounts.tokenInfo(ctx.query.get('access_token') ?? '');
    if (!info) ctx.json200({ error: 'invalid_token', error_description: 'Invalid Value' }, 400);
    else ctx.json200(info);
  });

  const userinfo = (ctx: RequestContext): void => {
    const bearer =
      /^Bearer\s+(.+)$/i.exec(ctx.header('authorization') ?? '')?.[1] ??
      ctx.query.get('access_token') ??
      undefined;
    const record = c.accounts.authenticate(bearer);
    if (typeof record === 'string') {
      throw new HttpError(
        401,
        {
          error: 'invalid_request',
          error_description: 'Invalid Credentials',
        },
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      );
    }
    const account = c.accounts.accountBySub(record.sub);
    if (!account)
      throw new HttpError(401, { error: 'invalid_request', error_description: 'Invalid Credentials' });
    const canEmail = record.scopes.includes('https://www.googleapis.com/auth/userinfo.email');
    const canProfile = record.scopes.includes('https://www.googleapis.com/auth/userinfo.profile');
    ctx.json200({
      sub: account.sub,
      ...(canProfile
        ? {
            name: account.name,
            given_name: account.givenName,
            family_name: account.familyName,
            picture: account.picture,
          }
        : {}),
      ...(canEmail ? { email: account.email, email_verified: true } : {}),
    });
  };
  router.add('GET', '/oauth2/v3/userinfo', userinfo);
  router.add('GET', '/v1/userinfo', userinfo);
  router.add('GET', '/oauth2/v2/userinfo', userinfo);

  router.add('GET', '/oauth2/v1/certs', (ctx) => {
    ctx.json200({ [c.signingKey.kid]: c.signingKey.certificatePem }, 200, {
      'cache-control': 'public, max-age=21600, must-revalidate, no-transform',
    });
  });
  router.add('GET', '/oauth2/v3/certs', (ctx) => {
    ctx.json200({ keys: [c.signingKey.jwk] }, 200, {
      'cache-control': 'public, max-age=21600, must-revalidate, no-transform',
    });
  });
  router.add('GET', '/.well-known/openid-configuration', (ctx) => {
    const base = c.baseUrl();
    ctx.json200({
      issuer: 'https://accounts.google.com',
      authorization_endpoint: `${base}/o/oauth2/v2/auth`,
      token_endpoint: `${base}/token`,
      userinfo_endpoint: `${base}/v1/userinfo`,
      revocation_endpoint: `${base}/revoke`,
      jwks_uri: `${base}/oauth2/v3/certs`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'email', 'profile'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      code_challenge_methods_supported: ['plain', 'S256'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
    });
  });
  return router;
}
