// The four emulator HTTP servers (Google OAuth, Gmail, Graph, Microsoft identity): routing, injected faults, the
// `/_sandbox` control paths on each, and each provider's error JSON.
import type { SandboxState } from './control/sandbox-state';
import { GMAIL_BATCH_PATHS, gmailBatchHandler } from './gmail/gmail-batch';
import { gmailErrorMapper, gmailRoutes } from './gmail/gmail-routes';
import { gmailError } from './gmail/gmail-errors';
import { googleOAuthRoutes } from './google/google-oauth-routes';
import { GRAPH_BATCH_PATHS, graphBatchHandler } from './graph/graph-batch';
import { graphErrors } from './graph/graph-errors';
import { graphErrorMapper, graphRoutes } from './graph/graph-routes';
import { AadError } from './microsoft/microsoft-accounts';
import { aadErrorBody, microsoftIdentityRoutes } from './microsoft/microsoft-identity-routes';
import type { SandboxProvidersOptions, SandboxUrls } from './sandbox-options';
import type { Clock } from './shared/clock';
import { PendingAuthorizations } from './shared/consent';
import type { FaultInjector } from './shared/faults';
import {
  HttpError,
  type RequestContext,
  type Router,
  type StartedServer,
  startServer,
} from './shared/http-kit';
import type { KeyMaterial } from './shared/key-material';

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

export interface EmulatorServersInput {
  host: string;
  publicHost: string;
  ports: NonNullable<SandboxProvidersOptions['ports']>;
  keys: KeyMaterial;
  state: SandboxState;
  /** Filled in as each server starts (the routes read it lazily). */
  urls: SandboxUrls;
  /** The `/_sandbox` control API, served on every emulator. */
  control: (ctx: RequestContext) => Promise<void>;
  projectId: string;
  tenantDomain: string;
}

/** Starts the four servers; on failure closes those already started (and the notifiers) and rethrows. */
export async function startEmulatorServers(input: EmulatorServersInput): Promise<StartedServer[]> {
  const { host, publicHost, ports, keys, state, urls, projectId, tenantDomain } = input;
  const {
    clock,
    ids,
    googleAccounts,
    gmail,
    quota,
    push,
    microsoftAccounts,
    graph,
    subscriptions,
    throttle,
  } = state;
  const control$ = input.control;

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
      tenantDomain,
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
  return servers;
}
