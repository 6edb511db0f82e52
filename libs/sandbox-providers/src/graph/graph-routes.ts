// Entry of the Microsoft Graph v1.0 emulator: dispatches a request (version, `/me` or `/users/{id}`, the
// tenant-level `/subscriptions`, attachment upload URLs) to the resource routes on one router, and maps errors to
// Graph's error JSON.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../shared/clock';
import { HttpError, type RequestContext, Router } from '../shared/http-kit';
import { handleUpload, registerAttachmentRoutes, type UploadSessions } from './graph-attachment-routes';
import { graphError, graphErrors } from './graph-errors';
import { registerFolderRoutes } from './graph-folder-routes';
import { registerMessageRoutes } from './graph-message-routes';
import { graphSegments, parsePrefer } from './graph-odata';
import {
  type GraphCall,
  type GraphRoutesContext,
  graphRouteKit,
  need,
  ODATA_JSON,
  READ,
} from './graph-route-kit';
import { registerSubscriptionRoutes } from './graph-subscription-routes';
import { registerUserRoutes } from './graph-user-routes';

/** Microsoft Graph v1.0 mail endpoints plus subscriptions and attachment upload sessions. */
export function graphRoutes(c: GraphRoutesContext): (ctx: RequestContext) => Promise<void> {
  const kit = graphRouteKit(c);
  const { authenticate, admit } = kit;
  // User-scoped routes are registered under `/me` (a `/users/{id}` request is routed as `/me`).
  const router = new Router<GraphCall>();
  const uploads: UploadSessions = new Map();
  registerUserRoutes(router, kit);
  registerMessageRoutes(router, kit);
  registerAttachmentRoutes(router, kit, uploads);
  registerFolderRoutes(router, kit);
  registerSubscriptionRoutes(router, kit);

  const newCall = (
    ctx: RequestContext,
    auth: ReturnType<typeof authenticate>,
    userPath: string,
  ): GraphCall => {
    const prefer = parsePrefer(ctx.header('prefer'));
    return {
      ctx,
      mailbox: auth.mailbox,
      token: auth.token,
      prefer,
      immutable: prefer.get('idtype')?.toLowerCase() === 'immutableid',
      userPath,
    };
  };

  const handleSubscriptions = async (ctx: RequestContext, segs: string[]): Promise<void> => {
    const auth = authenticate(ctx);
    await admit(ctx, auth.mailbox);
    need(auth.token, READ);
    const call = newCall(ctx, auth, 'me');
    // Segments are already decoded: encoded again so the router's decoding gives them back unchanged.
    const path = ['', 'subscriptions', ...segs.slice(1).map(encodeURIComponent)].join('/');
    const route = router.match(ctx.method, path);
    if (!route || route === 'method')
      throw graphError(405, 'Request_BadRequest', `Unsupported ${ctx.method} on /subscriptions.`);
    ctx.params = route.params;
    await route.handler(call);
  };

  return async (ctx: RequestContext): Promise<void> => {
    const segs = graphSegments(ctx.path);
    if (segs[0] === 'api' && segs[1] === 'v2.0') {
      const i = segs.indexOf('AttachmentSessions');
      if (i !== -1 && segs[i + 1]) return handleUpload(kit, uploads, ctx, segs[i + 1]);
      throw graphErrors.notFound();
    }
    if (segs[0] !== 'v1.0' && segs[0] !== 'beta') {
      throw graphError(400, 'BadRequest', `Invalid version: ${segs[0] ?? ''}`);
    }
    const rest = segs.slice(1);
    if (rest[0]?.toLowerCase() === 'subscriptions') return handleSubscriptions(ctx, rest);
    let userPath: string;
    let remaining: string[];
    const auth = authenticate(ctx);
    const { mailbox } = auth;
    if (rest[0] === 'me') {
      userPath = 'me';
      remaining = rest.slice(1);
    } else if (rest[0]?.toLowerCase() === 'users' && rest[1]) {
      const id = rest[1];
      if (id.toLowerCase() !== mailbox.address.toLowerCase() && id !== mailbox.oid)
        throw graphErrors.accessDenied();
      userPath = `users/${id}`;
      remaining = rest.slice(2);
    } else {
      throw graphError(400, 'BadRequest', `Resource not found for the segment '${rest[0] ?? ''}'.`);
    }
    await admit(ctx, mailbox);
    const call = newCall(ctx, auth, userPath);
    const route = router.match(ctx.method, ['/me', ...remaining].join('/'));
    if (route === 'method')
      throw graphError(
        405,
        'Request_BadRequest',
        `The ${ctx.method} method is not supported for this resource.`,
      );
    if (!route)
      throw graphError(
        400,
        'BadRequest',
        `Resource not found for the segment '${remaining[remaining.length - 1]}'.`,
      );
    ctx.params = route.params;
    await route.handler(call);
  };
}

export function graphErrorMapper(clock: Clock) {
  return (ctx: RequestContext, error: unknown): void => {
    const requestId = (ctx.res.getHeader('request-id') as string | undefined) ?? randomUUID();
    const clientRequestId = ctx.header('client-request-id') ?? requestId;
    let status = 500;
    let body: { error: Record<string, unknown> } = {
      error: { code: 'UnknownError', message: 'An unexpected error occurred.' },
    };
    let headers: Record<string, string> = {};
    if (error instanceof HttpError) {
      status = error.status;
      body = error.body as { error: Record<string, unknown> };
      headers = error.headers as Record<string, string>;
    }
    const inner = (body.error.innerError as Record<string, unknown> | undefined) ?? {};
    body = {
      error: {
        ...body.error,
        innerError: {
          ...inner,
          date: new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    };
    ctx.send(status, JSON.stringify(body), { 'content-type': ODATA_JSON, ...headers });
  };
}
