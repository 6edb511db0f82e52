// Request plumbing shared by the Graph route modules: the call context, scopes, authentication, admission
// (faults, throttling, latency), JSON/MIME bodies and the OData response helpers.
import type { Clock } from '../shared/clock';
import type { FaultInjector } from '../shared/faults';
import { BodyTooLargeError, type RequestContext, type Router } from '../shared/http-kit';
import type { IdFactory } from '../shared/id-factory';
import type { MicrosoftAccounts, MsAccessToken } from '../microsoft/microsoft-accounts';
import { graphError, graphErrors } from './graph-errors';
import { messageJson, parseSelect } from './graph-json';
import type { FolderName, GraphMailbox, GraphMessage } from './graph-mailbox';
import type { GraphService } from './graph-service';
import type { GraphSubscriptions } from './graph-subscriptions';
import type { GraphThrottle } from './graph-throttle';

export interface GraphRoutesContext {
  service: GraphService;
  accounts: MicrosoftAccounts;
  subscriptions: GraphSubscriptions;
  throttle: GraphThrottle;
  faults: FaultInjector;
  clock: Clock;
  ids: IdFactory;
  baseUrl: () => string;
  latencyMs: () => number;
}

export const JSON_LIMIT = 4 * 1024 * 1024;
export const UPLOAD_SESSION_LIMIT = 150 * 1024 * 1024;
export const ODATA_JSON =
  'application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8';

export const READ = ['Mail.ReadBasic', 'Mail.Read', 'Mail.ReadWrite'];
export const READ_FULL = ['Mail.Read', 'Mail.ReadWrite'];
export const WRITE = ['Mail.ReadWrite'];
export const SEND = ['Mail.Send'];
export const USER = [
  'User.Read',
  'User.ReadBasic.All',
  'User.Read.All',
  'Mail.Read',
  'Mail.ReadWrite',
  'Mail.Send',
];

export interface GraphCall {
  ctx: RequestContext;
  mailbox: GraphMailbox;
  token: MsAccessToken;
  prefer: Map<string, string>;
  immutable: boolean;
  /** `me` or `users/{id}`, used to build links the way the caller addressed the mailbox. */
  userPath: string;
}

/** The one router every Graph resource registers on (user-scoped paths under `/me`, tenant paths at the root). */
export type GraphRouter = Router<GraphCall>;

export const need = (token: MsAccessToken, scopes: string[]): void => {
  if (!token.scopes.some((s) => scopes.includes(s))) throw graphErrors.accessDenied();
};

export const json = (
  ctx: RequestContext,
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): void => ctx.send(status, JSON.stringify(body), { 'content-type': ODATA_JSON, ...headers });

export const readJson = async <T>(ctx: RequestContext): Promise<T> => {
  try {
    return ((await ctx.json<T>(JSON_LIMIT)) ?? ({} as T)) as T;
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw graphErrors.tooLarge();
    throw graphErrors.badRequest(
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
};

export const readMime = async (ctx: RequestContext): Promise<Buffer> => {
  let text: string;
  try {
    text = (await ctx.text(JSON_LIMIT)).trim();
  } catch (e) {
    if (e instanceof BodyTooLargeError) throw graphErrors.tooLarge();
    throw e;
  }
  if (!text || !/^[A-Za-z0-9+/\r\n]+=*$/.test(text)) {
    throw graphError(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.');
  }
  return Buffer.from(text, 'base64');
};

export const message = (call: GraphCall, id: string): GraphMessage => {
  const m = call.mailbox.byId(id);
  if (!m) throw graphErrors.notFound();
  return m;
};

export const folderOf = (call: GraphCall, id: string): FolderName => {
  const f = call.mailbox.folder(id);
  if (!f) throw graphErrors.notFound();
  return f.name;
};

export const messageOptions = (call: GraphCall, select?: string[]) => {
  const bodyPref = call.prefer.get('outlook.body-content-type')?.toLowerCase();
  return {
    immutable: call.immutable,
    select,
    bodyType: bodyPref === 'text' || bodyPref === 'html' ? (bodyPref as 'text' | 'html') : undefined,
    expandAttachments: (call.ctx.query.get('$expand') ?? '').toLowerCase().includes('attachments'),
    webBase: 'https://outlook.office365.com',
  };
};

export const preferenceApplied = (call: GraphCall): Record<string, string> => {
  const applied: string[] = [];
  if (call.immutable) applied.push('IdType="ImmutableId"');
  const b = call.prefer.get('outlook.body-content-type');
  if (b) applied.push(`outlook.body-content-type="${b}"`);
  return applied.length > 0 ? { 'preference-applied': applied.join(',') } : {};
};

/** The helpers that need the emulator's context (accounts, faults, throttle, base URL). */
export interface GraphRouteKit {
  c: GraphRoutesContext;
  /** `https://host/v1.0`, the base of every `@odata.context` and link. */
  base: () => string;
  authenticate: (ctx: RequestContext) => { token: MsAccessToken; mailbox: GraphMailbox };
  /** Faults, throttling, artificial latency: everything that happens before a handler runs. */
  admit: (ctx: RequestContext, mailbox: GraphMailbox) => Promise<void>;
  messageResponse: (call: GraphCall, m: GraphMessage, status?: number) => void;
}

export function graphRouteKit(c: GraphRoutesContext): GraphRouteKit {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const base = () => `${c.baseUrl()}/v1.0`;
  return {
    c,
    base,
    authenticate: (ctx) => {
      const bearer = /^Bearer\s+(.+)$/i.exec(ctx.header('authorization') ?? '')?.[1];
      if (!bearer) throw graphErrors.unauthenticated('Access token is empty.');
      const token = c.accounts.authenticate(bearer);
      if (token === 'expired') throw graphErrors.expired();
      if (token === 'invalid')
        throw graphErrors.unauthenticated(
          'IDX14100: JWT is not well formed, or the token is unknown to this tenant.',
        );
      const mailbox = c.service.byOid(token.oid);
      if (!mailbox)
        throw graphError(
          404,
          'MailboxNotEnabledForRESTAPI',
          'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
        );
      return { token, mailbox };
    },
    admit: async (ctx, mailbox) => {
      const fault = c.faults.take({ method: ctx.method, path: ctx.path, mailbox: mailbox.address });
      if (fault) throw graphErrors.injected(fault.status, fault.retryAfterSeconds);
      const slot = c.throttle.enter(mailbox.address);
      if (!slot.ok) throw slot.error;
      ctx.res.once('close', slot.release);
      const latency = c.latencyMs();
      if (latency > 0) await sleep(latency);
    },
    messageResponse: (call, m, status = 200) => {
      json(
        call.ctx,
        {
          '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/messages/$entity`,
          ...messageJson(m, call.mailbox, messageOptions(call, parseSelect(call.ctx.query.get('$select')))),
        },
        status,
        preferenceApplied(call),
      );
    },
  };
}
