// Shared plumbing of the Gmail API routes: the routes' context, scope sets, paging and the authenticated `api` wrapper.
import type { Clock } from '../shared/clock';
import type { FaultInjector } from '../shared/faults';
import type { RequestContext } from '../shared/http-kit';
import type { IdFactory } from '../shared/id-factory';
import { type AccessTokenRecord, FULL_MAIL_SCOPE, type GoogleAccounts } from '../google/google-accounts';
import { gmailError, gmailErrors } from './gmail-errors';
import type { GmailMailbox, GmailMessage } from './gmail-mailbox';
import type { MessageFormat } from './gmail-message-format';
import type { GmailMethod, GmailQuota } from './gmail-quota';
import type { GmailService } from './gmail-service';
import type { PubSubPush } from './pubsub-push';

export interface GmailRoutesContext {
  service: GmailService;
  accounts: GoogleAccounts;
  quota: GmailQuota;
  faults: FaultInjector;
  push: PubSubPush;
  clock: Clock;
  ids: IdFactory;
  /** GCP project of the OAuth client: `watch` only accepts topics of this project. */
  projectId: string;
  jsonLimitBytes: () => number;
  quotaErrorStatus: () => 403 | 429;
  baseUrl: () => string;
}

export const GMAIL_PREFIX = '/gmail/v1/users/:userId';
export const GMAIL_UPLOAD_PREFIX = '/upload/gmail/v1/users/:userId';

export const GMAIL_SCOPE = 'https://www.googleapis.com/auth/gmail.';
export const READ = [FULL_MAIL_SCOPE, `${GMAIL_SCOPE}modify`, `${GMAIL_SCOPE}readonly`];
export const METADATA = [...READ, `${GMAIL_SCOPE}metadata`];
export const SEND = [FULL_MAIL_SCOPE, `${GMAIL_SCOPE}modify`, `${GMAIL_SCOPE}compose`, `${GMAIL_SCOPE}send`];
export const MODIFY = [FULL_MAIL_SCOPE, `${GMAIL_SCOPE}modify`];
export const PROFILE = [...METADATA, `${GMAIL_SCOPE}compose`];

export interface Call {
  ctx: RequestContext;
  mailbox: GmailMailbox;
  token: AccessTokenRecord;
}

export const LIST_MAX = 500;

export function pageParams(ctx: RequestContext, defaultMax: number): { max: number; offset: number } {
  const max = Math.min(
    LIST_MAX,
    Math.max(1, Number(ctx.query.get('maxResults') ?? defaultMax) || defaultMax),
  );
  const offset = Number(ctx.query.get('pageToken') ?? 0) || 0;
  return { max, offset };
}

export type GmailApi = (
  method: GmailMethod,
  scopes: string[],
  handler: (call: Call) => Promise<void> | void,
) => (ctx: RequestContext) => Promise<void>;

/** Wraps a handler: bearer token, userId, mailbox, injected faults, scopes and quota, as Gmail checks them. */
export function gmailApi(c: GmailRoutesContext): GmailApi {
  return (method, scopes, handler) =>
    async (ctx: RequestContext): Promise<void> => {
      const bearer =
        /^Bearer\s+(.+)$/i.exec(ctx.header('authorization') ?? '')?.[1] ??
        ctx.query.get('access_token') ??
        undefined;
      const token = c.accounts.authenticate(bearer);
      if (typeof token === 'string') throw gmailErrors.unauthenticated();
      const account = c.accounts.accountBySub(token.sub);
      const userId = ctx.params.userId;
      if (!account) throw gmailErrors.unauthenticated();
      if (userId !== 'me' && userId.toLowerCase() !== account.email.toLowerCase()) {
        throw gmailErrors.delegationDenied(account.email);
      }
      const mailbox = c.service.get(account.email);
      if (!mailbox)
        throw gmailError(400, 'Mail service not enabled', 'failedPrecondition', {
          status: 'FAILED_PRECONDITION',
        });
      const fault = c.faults.take({ method: ctx.method, path: ctx.path, mailbox: mailbox.address });
      if (fault) throw gmailErrors.injected(fault.status, fault.retryAfterSeconds);
      if (!token.scopes.some((s) => scopes.includes(s))) throw gmailErrors.insufficientScopes();
      const charged = c.quota.consume(mailbox.address, method);
      if (!charged.ok) throw gmailErrors.userRateLimit(new Date(charged.retryAt), c.quotaErrorStatus());
      await handler({ ctx, mailbox, token });
    };
}

/** A token with only gmail.metadata: no bodies, no `q`. */
export const metadataOnly = (token: AccessTokenRecord): boolean =>
  token.scopes.includes(`${GMAIL_SCOPE}metadata`) && !token.scopes.some((s) => READ.includes(s));

export function messageOf(mailbox: GmailMailbox, id: string): GmailMessage {
  const m = mailbox.messages.get(id);
  if (!m) throw gmailErrors.notFound();
  return m;
}

export function requestedFormat(
  ctx: RequestContext,
  token: AccessTokenRecord,
  allowRaw: boolean,
): MessageFormat {
  const f = (ctx.query.get('format') ?? 'full').toLowerCase();
  if (!['full', 'metadata', 'minimal', 'raw'].includes(f) || (f === 'raw' && !allowRaw)) {
    throw gmailErrors.invalidArgument(`Invalid value at 'format' (${f})`);
  }
  if (metadataOnly(token) && (f === 'full' || f === 'raw')) {
    throw gmailError(403, `Metadata scope doesn't allow format ${f.toUpperCase()}`, 'forbidden');
  }
  return f as MessageFormat;
}
