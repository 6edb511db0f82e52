import { randomUUID } from 'node:crypto';
import type { Clock } from '../shared/clock';
import { type ConsentSettings, type PendingAuthorizations, renderConsentPage } from '../shared/consent';
import { type RequestContext, Router, escapeHtml } from '../shared/http-kit';
import type { IdFactory } from '../shared/id-factory';
import type { SigningKey } from '../shared/key-material';
import { AadError, type MicrosoftAccounts } from './microsoft-accounts';

export interface MicrosoftIdentityContext {
  accounts: MicrosoftAccounts;
  clock: Clock;
  ids: IdFactory;
  signingKey: SigningKey;
  consent: () => ConsentSettings;
  pending: PendingAuthorizations;
  baseUrl: () => string;
  tenantDomain: string;
}

export function aadErrorBody(e: AadError, clock: Clock): Record<string, unknown> {
  const trace = randomUUID();
  const correlation = randomUUID();
  const ts = new Date(clock.now())
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  const body: Record<string, unknown> = {
    error: e.error,
    error_description: `AADSTS${e.code}: ${e.description}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${ts}`,
    error_codes: [e.code],
    timestamp: ts,
    trace_id: trace,
    correlation_id: correlation,
    error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
  };
  if (e.suberror) body.suberror = e.suberror;
  return body;
}

function errorPage(ctx: RequestContext, e: AadError): void {
  ctx.html(
    `<!doctype html><html><head><title>Sign in to your account</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1>` +
      `<p>AADSTS${e.code}: ${escapeHtml(e.description)}</p></body></html>`,
    400,
  );
}

/** Microsoft identity platform v2.0 endpoints (`/{tenant}/oauth2/v2.0/*`, discovery, keys). */
export function microsoftIdentityRoutes(c: MicrosoftIdentityContext): Router {
  const router = new Router();
  const knownTenant = (t: string) =>
    ['common', 'organizations', 'consumers', c.accounts.tenantId, c.tenantDomain].includes(t.toLowerCase());
  const checkTenant = (t: string) => {
    if (!knownTenant(t)) {
      throw new AadError(
        400,
        'invalid_tenant',
        90002,
        `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
  };

  const respond = (ctx: RequestContext, params: URLSearchParams, values: Record<string, string>): void => {
    const redirectUri = params.get('redirect_uri') ?? '';
    const mode = params.get('response_mode') ?? 'query';
    if (mode === 'form_post') {
      const inputs = Object.entries(values)
        .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
        .join('');
      ctx.html(
        `<!doctype html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()">` +
          `<form method="POST" action="${escapeHtml(redirectUri)}">${inputs}<noscript><button>Continue</button></noscript></form></body></html>`,
      );
      return;
    }
    const target = new URL(redirectUri);
    if (mode === 'fragment') target.hash = new URLSearchParams(values).toString();
    else for (const [k, v] of Object.entries(values)) target.searchParams.set(k, v);
    ctx.redirect(target.toString());
  };

  const finish = (
    ctx: RequestContext,
    params: URLSearchParams,
    upn: string | undefined,
    deny: boolean,
  ): void => {
    const state = params.get('state');
    const withState = (v: Record<string, string>) => (state !== null ? { ...v, state } : v);
    if (deny || !upn) {
      return respond(
        ctx,
        params,
        withState({
          error: 'access_denied',
          error_description: 'AADSTS65004: User declined to consent to access the app.',
          error_uri: 'https://login.microsoftonline.com/error?code=65004',
        }),
      );
    }
    const account = c.accounts.account(upn);
    if (!account)
      return errorPage(
        ctx,
        new AadError(
          400,
          'invalid_request',
          50034,
          `The user account ${upn} does not exist in the directory.`,
        ),
      );
    const clientId = params.get('client_id') ?? '';
    const app = c.accounts.apps.get(clientId);
    if (app && c.accounts.needsAdminConsent(clientId)) {
      // A tenant where users may not consent: Entra answers the app with consent_required (AADSTS65001).
      const e = c.accounts.consentRequiredError(app);
      return respond(
        ctx,
        params,
        withState({
          error: 'consent_required',
          error_description: `AADSTS${e.code}: ${e.description}`,
          error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
        }),
      );
    }
    const code = c.accounts.createCode({
      clientId,
      redirectUri: params.get('redirect_uri') ?? '',
      scopes: (params.get('scope') ?? '').split(/\s+/).filter(Boolean),
      oid: account.oid,
      nonce: params.get('nonce') ?? undefined,
      codeChallenge: params.get('code_challenge') ?? undefined,
      codeChallengeMethod: params.get('code_challenge_method') ?? undefined,
    });
    const values: Record<string, string> = { code };
    if (params.get('client_info') === '1') {
      values.client_info = Buffer.from(JSON.stringify({ uid: account.oid, utid: account.tid })).toString(
        'base64url',
      );
    }
    respond(ctx, params, withState({ ...values, session_state: c.ids.guid() }));
  };

  router.add('GET', '/:tenant/oauth2/v2.0/authorize', (ctx) => {
    const params = ctx.query;
    try {
      checkTenant(ctx.params.tenant);
      const app = c.accounts.app(params.get('client_id') ?? undefined);
      const redirectUri = params.get('redirect_uri') ?? '';
      if (!redirectUri || (app.redirectUris.length > 0 && !app.redirectUris.includes(redirectUri))) {
        throw new AadError(
          400,
          'invalid_request',
          50011,
          `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'.`,
        );
      }
      if (params.get('response_type') !== 'code') {
        throw new AadError(
          400,
          'unsupported_response_type',
          900144,
          "The request body must contain the following parameter: 'response_type'.",
        );
      }
    } catch (e) {
      if (e instanceof AadError) return errorPage(ctx, e);
      throw e;
    }
    const consent = c.consent();
    const hint = params.get('login_hint') ?? undefined;
    const hinted = hint && c.accounts.account(hint) ? hint : undefined;
    if (consent.mode === 'deny') return finish(ctx, params, undefined, true);
    if ((consent.mode === 'approve' || consent.mode === 'auto') && (hinted ?? consent.as)) {
      return finish(ctx, params, hinted ?? consent.as, false);
    }
    if (params.get('prompt') === 'none') {
      return respond(ctx, params, {
        error: 'login_required',
        error_description: 'AADSTS50058: A silent sign-in request was sent but no user is signed in.',
        ...(params.get('state') !== null ? { state: params.get('state') ?? '' } : {}),
      });
    }
    const id = c.ids.base64url(18);
    c.pending.add(id, new URLSearchParams(params), c.clock.now());
    ctx.html(
      renderConsentPage({
        title: 'Sign in to your Microsoft account',
        clientId: params.get('client_id') ?? '',
        scopes: (params.get('scope') ?? '').split(/\s+/).filter(Boolean),
        mailboxes: c.accounts.listAccounts().map((a) => ({ address: a.upn, name: a.displayName })),
        action: `/${encodeURIComponent(ctx.params.tenant)}/oauth2/v2.0/authorize/decide`,
        requestId: id,
      }),
    );
  });

  // Admin consent endpoint: an administrator grants the app for the whole tenant, then returns to redirect_uri.
  router.add('GET', '/:tenant/adminconsent', (ctx) => {
    const params = ctx.query;
    try {
      checkTenant(ctx.params.tenant);
      const app = c.accounts.app(params.get('client_id') ?? undefined);
      const redirectUri = params.get('redirect_uri') ?? '';
      if (!redirectUri || (app.redirectUris.length > 0 && !app.redirectUris.includes(redirectUri))) {
        throw new AadError(
          400,
          'invalid_request',
          50011,
          `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${app.clientId}'.`,
        );
      }
      c.accounts.grantAdminConsent(app.clientId);
      const target = new URL(redirectUri);
      target.searchParams.set('admin_consent', 'True');
      target.searchParams.set('tenant', c.accounts.tenantId);
      const state = params.get('state');
      if (state !== null) target.searchParams.set('state', state);
      ctx.redirect(target.toString());
    } catch (e) {
      if (e instanceof AadError) return errorPage(ctx, e);
      throw e;
    }
  });

  router.add('POST', '/:tenant/oauth2/v2.0/authorize/decide', async (ctx) => {
    const form = await ctx.form();
    const pending = c.pending.take(form.get('request') ?? '');
    if (!pending)
      return errorPage(
        ctx,
        new AadError(400, 'invalid_request', 50058, 'The sign-in request expired; start again.'),
      );
    finish(ctx, pending.params, form.get('email') ?? undefined, form.get('deny') === '1');
  });

  router.add('POST', '/:tenant/oauth2/v2.0/token', async (ctx) => {
    const form = await ctx.form();
    try {
      checkTenant(ctx.params.tenant);
      let clientId = form.get('client_id') ?? undefined;
      let secret = form.get('client_secret') ?? undefined;
      const basic = /^Basic\s+(.+)$/i.exec(ctx.header('authorization') ?? '');
      if (basic) {
        const [id, s] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
        clientId = decodeURIComponent(id);
        secret = decodeURIComponent(s ?? '');
      }
      const app = c.accounts.authenticateApp(clientId, secret);
      const clientInfo = form.get('client_info') === '1';
      const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
      const grantType = form.get('grant_type');
      let body: Record<string, unknown>;
      if (grantType === 'authorization_code') {
        body = c.accounts.redeemCode(
          app,
          form.get('code') ?? '',
          form.get('redirect_uri') ?? undefined,
          form.get('code_verifier') ?? undefined,
          clientInfo,
        );
      } else if (grantType === 'refresh_token') {
        body = c.accounts.refresh(app, form.get('refresh_token') ?? '', scopes, clientInfo);
      } else {
        throw new AadError(
          400,
          'unsupported_grant_type',
          70003,
          `The app requested an unsupported grant type '${grantType ?? ''}'.`,
        );
      }
      ctx.json200(body, 200, {
        'cache-control': 'no-store, no-cache',
        pragma: 'no-cache',
        'x-ms-request-id': randomUUID(),
      });
    } catch (e) {
      if (e instanceof AadError)
        ctx.json200(aadErrorBody(e, c.clock), e.status, { 'cache-control': 'no-store, no-cache' });
      else throw e;
    }
  });

  const openIdConfiguration = (ctx: RequestContext) => {
    const tenant = ctx.params.tenant;
    try {
      checkTenant(tenant);
    } catch (e) {
      if (e instanceof AadError) return ctx.json200(aadErrorBody(e, c.clock), 400);
      throw e;
    }
    const base = c.baseUrl();
    const issuerTenant = ['common', 'organizations', 'consumers'].includes(tenant)
      ? '{tenantid}'
      : c.accounts.tenantId;
    ctx.json200({
      token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/${issuerTenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${tenant}/oauth2/v2.0/logout`,
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      tenant_region_scope: null,
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    });
  };
  router.add('GET', '/:tenant/v2.0/.well-known/openid-configuration', openIdConfiguration);

  const keys = (ctx: RequestContext) =>
    ctx.json200({
      keys: [
        { ...c.signingKey.jwk, x5t: c.signingKey.kid, issuer: `${c.baseUrl()}/${c.accounts.tenantId}/v2.0` },
      ],
    });
  router.add('GET', '/:tenant/discovery/v2.0/keys', keys);
  router.add('GET', '/common/discovery/keys', keys);

  router.add('GET', '/common/discovery/instance', (ctx) => {
    const host = new URL(c.baseUrl()).host;
    ctx.json200({
      tenant_discovery_endpoint: `${c.baseUrl()}/common/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  });

  router.add('GET', '/:tenant/oauth2/v2.0/logout', (ctx) => {
    const back = ctx.query.get('post_logout_redirect_uri');
    if (back) ctx.redirect(back);
    else ctx.html('<!doctype html><p>You signed out of your account.</p>');
  });

  return router;
}
