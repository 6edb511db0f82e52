import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { controlRoutes } from './control/control-routes';
import { SandboxControl, type ProviderName } from './control/sandbox-control';
import type { SandboxState } from './control/sandbox-state';
import { GmailQuota } from './gmail/gmail-quota';
import { GMAIL_BATCH_PATHS, gmailBatchHandler } from './gmail/gmail-batch';
import { gmailErrorMapper, gmailRoutes } from './gmail/gmail-routes';
import { gmailError } from './gmail/gmail-errors';
import { GmailService } from './gmail/gmail-service';
import { PubSubPush } from './gmail/pubsub-push';
import { GoogleAccounts } from './google/google-accounts';
import { googleOAuthRoutes } from './google/google-oauth-routes';
import { GRAPH_BATCH_PATHS, graphBatchHandler } from './graph/graph-batch';
import { graphErrors } from './graph/graph-errors';
import { graphErrorMapper, graphRoutes } from './graph/graph-routes';
import { GraphService } from './graph/graph-service';
import { GraphSubscriptions } from './graph/graph-subscriptions';
import { GraphThrottle } from './graph/graph-throttle';
import { AadError, MicrosoftAccounts } from './microsoft/microsoft-accounts';
import { aadErrorBody, microsoftIdentityRoutes } from './microsoft/microsoft-identity-routes';
import { type Clock, systemClock } from './shared/clock';
import { type ConsentSettings, PendingAuthorizations } from './shared/consent';
import { FaultInjector } from './shared/faults';
import {
  HttpError,
  type RequestContext,
  type Router,
  type StartedServer,
  startServer,
} from './shared/http-kit';
import { IdFactory } from './shared/id-factory';
import { keyMaterial } from './shared/key-material';
import { PostOffice } from './shared/post-office';
import type { RetryPolicy } from './shared/webhook-dispatcher';

export interface SandboxProvidersOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Host name used in every advertised URL and link (default: the listen address, or localhost for 0.0.0.0). */
  publicHost?: string;
  /** Fixed ports; 0 (the default) picks free ones. */
  ports?: { google?: number; gmail?: number; graph?: number; microsoft?: number };
  /** Time source for expiry, retention, quotas and timestamps (signed JWTs always use the wall clock). */
  clock?: Clock;
  /** Seed for reproducible ids. */
  seed?: number;
  /** Where to write the CA certificate (`EXTRA_CA_CERTS_FILE`); a file in the OS temp dir by default. */
  caCertFile?: string;
  /** Mailboxes to create at start. */
  mailboxes?: { provider: ProviderName; address: string; displayName?: string }[];
  google?: {
    clientId?: string;
    clientSecret?: string;
    redirectUris?: string[];
    /** Consent screen in "Testing": refresh tokens with Gmail scopes die after 7 days. */
    testingMode?: boolean;
    projectId?: string;
    /** Topic `watch` publishes to (`projects/<projectId>/topics/…`). */
    pubsubTopic?: string;
    pushEndpoint?: string;
    pushAudience?: string;
    pushServiceAccount?: string;
    historyRetentionMs?: number;
    quotaUnitsPerMinute?: number;
    quotaErrorStatus?: 403 | 429;
    jsonLimitBytes?: number;
    pushMinIntervalMs?: number;
    pushAckDeadlineMs?: number;
    pushRetry?: Partial<RetryPolicy>;
    consent?: ConsentSettings;
  };
  microsoft?: {
    clientId?: string;
    clientSecret?: string;
    redirectUris?: string[];
    permissions?: string[];
    tenant?: string;
    tenantDomain?: string;
    subscriptionMaxMinutes?: number;
    requireHttpsNotificationUrl?: boolean;
    validationTimeoutMs?: number;
    notificationTimeoutMs?: number;
    notificationRetry?: Partial<RetryPolicy>;
    consent?: ConsentSettings;
    /** The tenant lets only administrators consent to apps (AADSTS65001 for users until an admin consents). */
    adminConsentRequired?: boolean;
  };
}

export interface SandboxUrls {
  /** Google accounts: OAuth authorize/token/revoke, userinfo, certs (http). */
  google: string;
  /** Gmail API root (http); `GMAIL_API_ROOT_URL` is this plus a trailing slash. */
  gmail: string;
  /** Microsoft Graph (https). */
  graph: string;
  /** Microsoft identity platform authority host (https). */
  microsoft: string;
}

export interface SandboxProviders {
  readonly urls: SandboxUrls;
  readonly control: SandboxControl;
  /** The environment the platform reads to reach these emulators instead of Google and Microsoft. */
  platformEnv(): Record<string, string>;
  /** CA certificate of the HTTPS emulators (Graph, Microsoft identity). */
  readonly caCertPem: string;
  readonly caCertFile: string;
  close(): Promise<void>;
}

export const SANDBOX_DEFAULTS = {
  googleClientId: '871205630994-mailbridgesandbox.apps.googleusercontent.com',
  googleClientSecret: 'GOCSPX-mailbridge-sandbox-secret',
  googleProjectId: 'mailbridge-sandbox',
  pubsubTopic: 'projects/mailbridge-sandbox/topics/gmail-watch',
  pushAudience: 'https://push.sandbox.mailbridge.test/gmail',
  pushServiceAccount: 'gmail-push@mailbridge-sandbox.iam.gserviceaccount.com',
  microsoftClientId: '6f1c9a43-5d2e-4b7a-9c81-3e2d4f5a6b7c',
  microsoftClientSecret: 'mailbridge~sandbox.secret_0123456789',
  microsoftTenant: 'common',
  tenantDomain: 'sandbox.mailbridge.test',
} as const;

function oauthErrorMapper(kind: 'google' | 'microsoft', clock: Clock) {
  return (ctx: RequestContext, error: unknown): void => {
    if (error instanceof HttpError) return ctx.json200(error.body, error.status, error.headers);
    if (error instanceof AadError) return ctx.json200(aadErrorBody(error, clock), error.status);
    const description = error instanceof Error ? error.message : String(error);
    ctx.json200(
      kind === 'google'
        ? { error: 'internal_failure', error_description: description }
        : { error: 'server_error', error_description: description },
      500,
    );
  };
}

function injectedOAuthError(kind: 'google' | 'microsoft', status: number, retryAfter?: number): HttpError {
  const headers: Record<string, string> =
    retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {};
  if (kind === 'google') {
    const error =
      status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'internal_failure' : 'invalid_request';
    return new HttpError(status, { error, error_description: 'Injected failure' }, headers);
  }
  const error = status >= 500 || status === 429 ? 'temporarily_unavailable' : 'invalid_request';
  return new HttpError(
    status,
    {
      error,
      error_description:
        'AADSTS50196: The server terminated an operation because it encountered a client request loop.',
      error_codes: [50196],
    },
    headers,
  );
}

/** Starts every emulator on 127.0.0.1 (free ports by default) and returns their URLs, control API and config. */
export async function startSandboxProviders(
  options: SandboxProvidersOptions = {},
): Promise<SandboxProviders> {
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (host === '0.0.0.0' || host === '::' ? 'localhost' : host);
  const clock = options.clock ?? systemClock;
  const ids = new IdFactory(options.seed);
  const keys = await keyMaterial([publicHost]);
  const g = options.google ?? {};
  const ms = options.microsoft ?? {};
  const urls: SandboxUrls = { google: '', gmail: '', graph: '', microsoft: '' };

  const postOffice = new PostOffice(clock);
  const googleAccounts = new GoogleAccounts(clock, ids, keys.google);
  const googleClientId = g.clientId ?? SANDBOX_DEFAULTS.googleClientId;
  const googleClientSecret = g.clientSecret ?? SANDBOX_DEFAULTS.googleClientSecret;
  googleAccounts.addClient({
    clientId: googleClientId,
    clientSecret: googleClientSecret,
    redirectUris: g.redirectUris ?? [],
    testingMode: g.testingMode ?? false,
  });
  const gmail = new GmailService(clock, ids, postOffice, googleAccounts, {
    historyRetentionMs: g.historyRetentionMs ?? 7 * 86_400_000,
  });
  const quota = new GmailQuota(clock, g.quotaUnitsPerMinute ?? 15_000);
  const push = new PubSubPush(clock, ids, keys.google, {
    minIntervalMs: g.pushMinIntervalMs ?? 1000,
    ackDeadlineMs: g.pushAckDeadlineMs ?? 10_000,
    retry: { maxAttempts: 20, minBackoffMs: 1000, maxBackoffMs: 60_000, ...g.pushRetry },
  });
  const projectId = g.projectId ?? SANDBOX_DEFAULTS.googleProjectId;
  const pubsubTopic = g.pubsubTopic ?? `projects/${projectId}/topics/gmail-watch`;
  const pushAudience = g.pushAudience ?? SANDBOX_DEFAULTS.pushAudience;
  const pushServiceAccount = g.pushServiceAccount ?? `gmail-push@${projectId}.iam.gserviceaccount.com`;
  push.configureTopic({
    topicName: pubsubTopic,
    subscription: `projects/${projectId}/subscriptions/gmail-watch-push`,
    pushEndpoint: g.pushEndpoint,
    audience: pushAudience,
    serviceAccountEmail: pushServiceAccount,
  });
  gmail.onHistory((mailbox, record) => push.onHistory(mailbox, record, clock.now()));

  const microsoftAccounts = new MicrosoftAccounts(clock, ids, keys.microsoft, () => urls.microsoft);
  const microsoftClientId = ms.clientId ?? SANDBOX_DEFAULTS.microsoftClientId;
  const microsoftClientSecret = ms.clientSecret ?? SANDBOX_DEFAULTS.microsoftClientSecret;
  microsoftAccounts.addApp({
    clientId: microsoftClientId,
    clientSecret: microsoftClientSecret,
    redirectUris: ms.redirectUris ?? [],
    permissions: ms.permissions,
  });
  microsoftAccounts.adminConsentRequired = ms.adminConsentRequired ?? false;
  const graph = new GraphService(clock, ids, postOffice, microsoftAccounts);
  const subscriptions = new GraphSubscriptions(clock, ids, {
    maxExpirationMinutes: ms.subscriptionMaxMinutes ?? 4230,
    validationTimeoutMs: ms.validationTimeoutMs ?? 10_000,
    notificationTimeoutMs: ms.notificationTimeoutMs ?? 3_000,
    requireHttps: ms.requireHttpsNotificationUrl ?? false,
    maxPerMailbox: 1000,
    retry: { maxAttempts: 12, minBackoffMs: 1000, maxBackoffMs: 60_000, ...ms.notificationRetry },
  });
  graph.onMailbox((mailbox) =>
    mailbox.onChange((message, type, folder) =>
      subscriptions.onChange(mailbox, message, type, folder, message.restId),
    ),
  );
  // Revoked sessions make Graph ask the subscriber to reauthorize, as it does when a token goes bad.
  microsoftAccounts.onRevoke((account) => {
    for (const sub of subscriptions.list()) {
      if (sub.creatorId === account.oid) subscriptions.lifecycle(sub, 'reauthorizationRequired', account.tid);
    }
  });
  const throttle = new GraphThrottle(clock);

  const state: SandboxState = {
    clock,
    ids,
    postOffice,
    googleAccounts,
    gmail,
    quota,
    push,
    microsoftAccounts,
    graph,
    subscriptions,
    throttle,
    faults: {
      gmail: new FaultInjector(),
      graph: new FaultInjector(),
      'google-oauth': new FaultInjector(),
      'microsoft-identity': new FaultInjector(),
    },
    settings: {
      googleConsent: g.consent ?? { mode: 'auto' },
      microsoftConsent: ms.consent ?? { mode: 'auto' },
      gmailJsonLimitBytes: g.jsonLimitBytes ?? 5 * 1024 * 1024,
      quotaErrorStatus: g.quotaErrorStatus ?? 429,
      graphLatencyMs: 0,
    },
    config: { googleClientId, microsoftClientId, pubsubTopic, pushAudience, pushServiceAccount },
  };
  const control = new SandboxControl(state);

  const caCertPem = keys.tls.caCertPem;
  const caCertFile =
    options.caCertFile ??
    path.join(
      tmpdir(),
      'mailbridge-sandbox',
      `ca-${createHash('sha256').update(caCertPem).digest('hex').slice(0, 16)}.pem`,
    );
  mkdirSync(path.dirname(caCertFile), { recursive: true });
  writeFileSync(caCertFile, caCertPem);

  const platformEnv = (): Record<string, string> => ({
    GOOGLE_CLIENT_ID: googleClientId,
    GOOGLE_CLIENT_SECRET: googleClientSecret,
    GOOGLE_OAUTH_AUTHORIZE_URL: `${urls.google}/o/oauth2/v2/auth`,
    GOOGLE_OAUTH_TOKEN_URL: `${urls.google}/token`,
    GOOGLE_OAUTH_REVOKE_URL: `${urls.google}/revoke`,
    GOOGLE_OAUTH_CERTS_URL: `${urls.google}/oauth2/v1/certs`,
    GOOGLE_USERINFO_URL: `${urls.google}/oauth2/v3/userinfo`,
    GMAIL_API_ROOT_URL: `${urls.gmail}/`,
    GMAIL_PUBSUB_TOPIC: pubsubTopic,
    GMAIL_PUSH_AUDIENCE: pushAudience,
    GMAIL_PUSH_SERVICE_ACCOUNT: pushServiceAccount,
    MICROSOFT_CLIENT_ID: microsoftClientId,
    MICROSOFT_CLIENT_SECRET: microsoftClientSecret,
    MICROSOFT_TENANT: ms.tenant ?? SANDBOX_DEFAULTS.microsoftTenant,
    MICROSOFT_AUTHORITY_HOST: urls.microsoft,
    MICROSOFT_GRAPH_BASE_URL: urls.graph,
    EXTRA_CA_CERTS_FILE: caCertFile,
  });
  const control$ = controlRoutes({ control, env: platformEnv, urls: () => ({ ...urls }), caCertPem });

  const withControl =
    (inner: (ctx: RequestContext) => Promise<void>) =>
    async (ctx: RequestContext): Promise<void> => {
      if (ctx.path === '/_sandbox' || ctx.path.startsWith('/_sandbox/')) return control$(ctx);
      return inner(ctx);
    };
  const routed =
    (kind: 'google' | 'microsoft', router: Router, faults: FaultInjector, notFound: () => HttpError) =>
    async (ctx: RequestContext): Promise<void> => {
      const fault = faults.take({ method: ctx.method, path: ctx.path });
      if (fault) throw injectedOAuthError(kind, fault.status, fault.retryAfterSeconds);
      const route = router.match(ctx.method, ctx.path);
      if (!route || route === 'method') throw notFound();
      ctx.params = route.params;
      await route.handler(ctx);
    };
  const controlAware =
    (mapper: (ctx: RequestContext, e: unknown) => void) => (ctx: RequestContext, e: unknown) => {
      if (ctx.path.startsWith('/_sandbox') && e instanceof HttpError)
        return ctx.json200(e.body, e.status, e.headers);
      mapper(ctx, e);
    };

  const servers: StartedServer[] = [];
  const ports = options.ports ?? {};
  const googlePending = new PendingAuthorizations();
  const microsoftPending = new PendingAuthorizations();
  try {
    const googleRouter = googleOAuthRoutes({
      accounts: googleAccounts,
      clock,
      ids,
      signingKey: keys.google,
      consent: () => state.settings.googleConsent,
      pending: googlePending,
      baseUrl: () => urls.google,
    });
    const googleServer = await startServer({
      host,
      port: ports.google ?? 0,
      publicHost,
      handler: withControl(
        routed(
          'google',
          googleRouter,
          state.faults['google-oauth'],
          () => new HttpError(404, { error: 'not_found' }),
        ),
      ),
      onError: controlAware(oauthErrorMapper('google', clock)),
    });
    servers.push(googleServer);
    urls.google = googleServer.url;

    const gmailRouter = gmailRoutes({
      service: gmail,
      accounts: googleAccounts,
      quota,
      faults: state.faults.gmail,
      push,
      clock,
      ids,
      projectId,
      jsonLimitBytes: () => state.settings.gmailJsonLimitBytes,
      quotaErrorStatus: () => state.settings.quotaErrorStatus,
      baseUrl: () => urls.gmail,
    });
    const gmailRoute = async (ctx: RequestContext): Promise<void> => {
      const route = gmailRouter.match(ctx.method, ctx.path);
      if (!route || route === 'method') throw gmailError(404, 'Not Found', 'notFound');
      ctx.params = route.params;
      await route.handler(ctx);
    };
    // One call of a batch: routed and mapped to Google's error JSON exactly like a request of its own.
    const gmailBatch = gmailBatchHandler(
      (ctx) => gmailRoute(ctx).catch((error: unknown) => gmailErrorMapper(ctx, error)),
      ids,
      () => urls.gmail,
    );
    const gmailServer = await startServer({
      host,
      port: ports.gmail ?? 0,
      publicHost,
      handler: withControl((ctx) =>
        GMAIL_BATCH_PATHS.includes(ctx.path) ? gmailBatch(ctx) : gmailRoute(ctx),
      ),
      onError: controlAware(gmailErrorMapper),
    });
    servers.push(gmailServer);
    urls.gmail = gmailServer.url;

    const graphHandler = graphRoutes({
      service: graph,
      accounts: microsoftAccounts,
      subscriptions,
      throttle,
      faults: state.faults.graph,
      clock,
      ids,
      baseUrl: () => urls.graph,
      latencyMs: () => state.settings.graphLatencyMs,
    });
    // One request of a $batch: routed and mapped to Graph's error JSON exactly like a request of its own.
    const graphBatch = graphBatchHandler(
      (ctx) => graphHandler(ctx).catch((error: unknown) => graphErrorMapper(clock)(ctx, error)),
      () => urls.graph,
      (ctx) => {
        const bearer = /^Bearer\s+(.+)$/i.exec(ctx.header('authorization') ?? '')?.[1];
        const token = bearer ? microsoftAccounts.authenticate(bearer) : 'invalid';
        if (token === 'expired') throw graphErrors.expired();
        if (token === 'invalid') throw graphErrors.unauthenticated('Access token is empty or invalid.');
      },
    );
    const graphServer = await startServer({
      host,
      port: ports.graph ?? 0,
      publicHost,
      tls: { key: keys.tls.keyPem, cert: keys.tls.certPem },
      handler: withControl(async (ctx) => {
        const requestId = ids.guid();
        ctx.res.setHeader('request-id', requestId);
        ctx.res.setHeader('client-request-id', ctx.header('client-request-id') ?? requestId);
        ctx.res.setHeader('odata-version', '4.0');
        if (GRAPH_BATCH_PATHS.includes(ctx.path)) await graphBatch(ctx);
        else await graphHandler(ctx);
      }),
      onError: controlAware(graphErrorMapper(clock)),
    });
    servers.push(graphServer);
    urls.graph = graphServer.url;

    const identityRouter = microsoftIdentityRoutes({
      accounts: microsoftAccounts,
      clock,
      ids,
      signingKey: keys.microsoft,
      consent: () => state.settings.microsoftConsent,
      pending: microsoftPending,
      baseUrl: () => urls.microsoft,
      tenantDomain: ms.tenantDomain ?? SANDBOX_DEFAULTS.tenantDomain,
    });
    const microsoftServer = await startServer({
      host,
      port: ports.microsoft ?? 0,
      publicHost,
      tls: { key: keys.tls.keyPem, cert: keys.tls.certPem },
      handler: withControl(
        routed(
          'microsoft',
          identityRouter,
          state.faults['microsoft-identity'],
          () =>
            new HttpError(404, {
              error: 'invalid_request',
              error_description: 'AADSTS900561: The endpoint only accepts the documented paths.',
            }),
        ),
      ),
      onError: controlAware(oauthErrorMapper('microsoft', clock)),
    });
    servers.push(microsoftServer);
    urls.microsoft = microsoftServer.url;
  } catch (e) {
    await Promise.all(servers.map((s) => s.close()));
    push.close();
    subscriptions.close();
    throw e;
  }

  for (const m of options.mailboxes ?? []) control.createMailbox(m);

  let closed = false;
  return {
    urls,
    control,
    platformEnv,
    caCertPem,
    caCertFile,
    close: async () => {
      if (closed) return;
      closed = true;
      push.close();
      subscriptions.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
