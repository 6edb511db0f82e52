import type { Clock } from '../shared/clock';
import type { FaultInjector } from '../shared/faults';
import { BodyTooLargeError, HttpError, type RequestContext, Router } from '../shared/http-kit';
import type { IdFactory } from '../shared/id-factory';
import { headerValue, parseHeaderBlock, parseParameterHeader, splitMessage } from '../shared/mime-headers';
import { decodeTransfer, splitMultipart } from '../shared/mime-parser';
import { type AccessTokenRecord, FULL_MAIL_SCOPE, type GoogleAccounts } from '../google/google-accounts';
import { gmailError, gmailErrors } from './gmail-errors';
import { type GmailMailbox, type GmailMessage, SYSTEM_LABELS } from './gmail-mailbox';
import { decodeAttachmentId, findPart, formatMessage, type MessageFormat } from './gmail-message-format';
import type { GmailMethod, GmailQuota } from './gmail-quota';
import { compileGmailQuery, queryMentionsSpamOrTrash } from './gmail-search';
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

export const GMAIL_UPLOAD_LIMIT_BYTES = 36_700_160;

const G = 'https://www.googleapis.com/auth/gmail.';
const READ = [FULL_MAIL_SCOPE, `${G}modify`, `${G}readonly`];
const METADATA = [...READ, `${G}metadata`];
const SEND = [FULL_MAIL_SCOPE, `${G}modify`, `${G}compose`, `${G}send`];
const MODIFY = [FULL_MAIL_SCOPE, `${G}modify`];
const PROFILE = [...METADATA, `${G}compose`];

interface Call {
  ctx: RequestContext;
  mailbox: GmailMailbox;
  token: AccessTokenRecord;
}

const LIST_MAX = 500;

function pageParams(ctx: RequestContext, defaultMax: number): { max: number; offset: number } {
  const max = Math.min(
    LIST_MAX,
    Math.max(1, Number(ctx.query.get('maxResults') ?? defaultMax) || defaultMax),
  );
  const offset = Number(ctx.query.get('pageToken') ?? 0) || 0;
  return { max, offset };
}

/** Gmail API v1 under `/gmail/v1/users/{userId}/…` and the media upload paths. */
export function gmailRoutes(c: GmailRoutesContext): Router {
  const router = new Router();
  const resumable = new Map<
    string,
    { mailbox: string; threadId?: string; chunks: Buffer[]; received: number; total?: number }
  >();

  const api =
    (method: GmailMethod, scopes: string[], handler: (call: Call) => Promise<void> | void) =>
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

  const metadataOnly = (token: AccessTokenRecord) =>
    token.scopes.includes(`${G}metadata`) && !token.scopes.some((s) => READ.includes(s));

  const message = (mailbox: GmailMailbox, id: string): GmailMessage => {
    const m = mailbox.messages.get(id);
    if (!m) throw gmailErrors.notFound();
    return m;
  };

  const format = (ctx: RequestContext, token: AccessTokenRecord, allowRaw: boolean): MessageFormat => {
    const f = (ctx.query.get('format') ?? 'full').toLowerCase();
    if (!['full', 'metadata', 'minimal', 'raw'].includes(f) || (f === 'raw' && !allowRaw)) {
      throw gmailErrors.invalidArgument(`Invalid value at 'format' (${f})`);
    }
    if (metadataOnly(token) && (f === 'full' || f === 'raw')) {
      throw gmailError(403, `Metadata scope doesn't allow format ${f.toUpperCase()}`, 'forbidden');
    }
    return f as MessageFormat;
  };

  const prefix = '/gmail/v1/users/:userId';

  router.add(
    'GET',
    `${prefix}/profile`,
    api('getProfile', PROFILE, ({ ctx, mailbox }) =>
      ctx.json200({
        emailAddress: mailbox.address,
        messagesTotal: mailbox.messages.size,
        threadsTotal: mailbox.threadsTotal(),
        historyId: String(mailbox.historyId),
      }),
    ),
  );

  // users.settings.sendAs (SND-7): readable with any read scope or gmail.settings.basic.
  const SETTINGS_READ = [...METADATA, `${G}settings.basic`];
  router.add(
    'GET',
    `${prefix}/settings/sendAs`,
    api('settings.sendAs.list', SETTINGS_READ, ({ ctx, mailbox }) =>
      ctx.json200({ sendAs: mailbox.sendAsList() }),
    ),
  );
  router.add(
    'GET',
    `${prefix}/settings/sendAs/:sendAsEmail`,
    api('settings.sendAs.get', SETTINGS_READ, ({ ctx, mailbox }) => {
      const wanted = decodeURIComponent(ctx.params.sendAsEmail).toLowerCase();
      const entry = mailbox.sendAsList().find((a) => a.sendAsEmail.toLowerCase() === wanted);
      if (!entry) throw gmailErrors.notFound();
      ctx.json200(entry);
    }),
  );

  router.add(
    'GET',
    `${prefix}/labels`,
    api('labels.list', METADATA, ({ ctx }) =>
      ctx.json200({ labels: SYSTEM_LABELS.map((id) => ({ id, name: id, type: 'system' })) }),
    ),
  );

  router.add(
    'GET',
    `${prefix}/labels/:id`,
    api('labels.get', METADATA, ({ ctx, mailbox }) => {
      const id = ctx.params.id;
      if (!SYSTEM_LABELS.includes(id)) throw gmailErrors.notFound();
      const withLabel = [...mailbox.messages.values()].filter((m) => m.labelIds.has(id));
      const threads = new Set(withLabel.map((m) => m.threadId));
      ctx.json200({
        id,
        name: id,
        type: 'system',
        messagesTotal: withLabel.length,
        messagesUnread: withLabel.filter((m) => m.labelIds.has('UNREAD')).length,
        threadsTotal: threads.size,
        threadsUnread: new Set(withLabel.filter((m) => m.labelIds.has('UNREAD')).map((m) => m.threadId)).size,
      });
    }),
  );

  router.add(
    'GET',
    `${prefix}/messages`,
    api('messages.list', METADATA, ({ ctx, mailbox, token }) => {
      const q = ctx.query.get('q') ?? undefined;
      if (q && metadataOnly(token))
        throw gmailError(403, "Metadata scope does not support 'q' parameter", 'forbidden');
      const labelIds = ctx.query.getAll('labelIds');
      const includeSpamTrash = ctx.query.get('includeSpamTrash') === 'true' || queryMentionsSpamOrTrash(q);
      const predicate = compileGmailQuery(q, c.clock.now());
      const matches = [...mailbox.messages.values()]
        .filter((m) => includeSpamTrash || (!m.labelIds.has('SPAM') && !m.labelIds.has('TRASH')))
        .filter((m) => labelIds.every((l) => m.labelIds.has(l)))
        .filter((m) => predicate(m.search))
        .sort((a, b) => b.internalDate - a.internalDate || (b.id < a.id ? -1 : 1));
      const { max, offset } = pageParams(ctx, 100);
      const page = matches.slice(offset, offset + max);
      const body: Record<string, unknown> = { resultSizeEstimate: matches.length };
      if (page.length > 0) body.messages = page.map((m) => ({ id: m.id, threadId: m.threadId }));
      if (offset + max < matches.length) body.nextPageToken = String(offset + max);
      ctx.json200(body);
    }),
  );

  router.add(
    'GET',
    `${prefix}/messages/:id`,
    api('messages.get', METADATA, ({ ctx, mailbox, token }) => {
      const m = message(mailbox, ctx.params.id);
      ctx.json200(formatMessage(m, format(ctx, token, true), c.ids, ctx.query.getAll('metadataHeaders')));
    }),
  );

  router.add(
    'GET',
    `${prefix}/messages/:messageId/attachments/:id`,
    api('messages.attachments.get', READ, ({ ctx, mailbox }) => {
      const m = message(mailbox, ctx.params.messageId);
      const ref = decodeAttachmentId(ctx.params.id);
      if (!ref || ref.messageId !== m.id) throw gmailErrors.invalidArgument('Invalid attachment token');
      const part = findPart(m.mime, ref.partId);
      if (!part) throw gmailErrors.notFound();
      ctx.json200({ size: part.body.length, data: part.body.toString('base64url') });
    }),
  );

  router.add(
    'POST',
    `${prefix}/messages/:id/modify`,
    api('messages.modify', MODIFY, async ({ ctx, mailbox }) => {
      const m = message(mailbox, ctx.params.id);
      const body = (await ctx.json<{ addLabelIds?: string[]; removeLabelIds?: string[] }>()) ?? {};
      const forbidden = [...(body.addLabelIds ?? []), ...(body.removeLabelIds ?? [])].filter((l) =>
        ['SENT', 'DRAFT'].includes(l),
      );
      if (forbidden.length > 0) throw gmailErrors.invalidArgument(`Invalid label: ${forbidden[0]}`);
      mailbox.modifyCalls++;
      c.service.modify(mailbox, m, body.addLabelIds ?? [], body.removeLabelIds ?? []);
      ctx.json200({ id: m.id, threadId: m.threadId, labelIds: [...m.labelIds] });
    }),
  );

  // Up to 1000 ids, all or nothing: an unknown id fails the whole call (400), as at Google.
  router.add(
    'POST',
    `${prefix}/messages/batchModify`,
    api('messages.batchModify', MODIFY, async ({ ctx, mailbox }) => {
      const body =
        (await ctx.json<{ ids?: string[]; addLabelIds?: string[]; removeLabelIds?: string[] }>()) ?? {};
      const ids = body.ids ?? [];
      if (ids.length === 0) throw gmailErrors.invalidArgument('ids must not be empty');
      if (ids.length > 1000) throw gmailErrors.invalidArgument('Too many ids: at most 1000');
      const forbidden = [...(body.addLabelIds ?? []), ...(body.removeLabelIds ?? [])].filter((l) =>
        ['SENT', 'DRAFT'].includes(l),
      );
      if (forbidden.length > 0) throw gmailErrors.invalidArgument(`Invalid label: ${forbidden[0]}`);
      const messages = ids.map((id) => mailbox.messages.get(id));
      if (messages.some((m) => !m)) throw gmailErrors.invalidArgument('Invalid id value');
      mailbox.modifyCalls++;
      for (const m of messages as GmailMessage[]) {
        c.service.modify(mailbox, m, body.addLabelIds ?? [], body.removeLabelIds ?? []);
      }
      ctx.send(204);
    }),
  );

  router.add(
    'POST',
    `${prefix}/messages/:id/trash`,
    api('messages.trash', MODIFY, ({ ctx, mailbox }) => {
      const m = message(mailbox, ctx.params.id);
      mailbox.modifyCalls++;
      c.service.modify(mailbox, m, ['TRASH'], ['INBOX', 'UNREAD']);
      ctx.json200({ id: m.id, threadId: m.threadId, labelIds: [...m.labelIds] });
    }),
  );

  router.add(
    'DELETE',
    `${prefix}/messages/:id`,
    api('messages.delete', [FULL_MAIL_SCOPE], ({ ctx, mailbox }) => {
      c.service.delete(mailbox, message(mailbox, ctx.params.id));
      ctx.send(204);
    }),
  );

  const sendResult = async (ctx: RequestContext, mailbox: GmailMailbox, raw: Buffer, threadId?: string) => {
    if (raw.length === 0)
      throw gmailErrors.invalidArgument(
        "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
      );
    const outcome = await c.service.send(mailbox, raw, threadId);
    ctx.json200({
      id: outcome.message.id,
      threadId: outcome.message.threadId,
      labelIds: [...outcome.message.labelIds],
    });
  };

  router.add(
    'POST',
    `${prefix}/messages/send`,
    api('messages.send', SEND, async ({ ctx, mailbox }) => {
      let body: { raw?: string; threadId?: string } | undefined;
      try {
        body = await ctx.json(c.jsonLimitBytes());
      } catch (e) {
        if (e instanceof BodyTooLargeError) throw gmailErrors.tooLarge(e.limit);
        throw gmailErrors.badRequest('Invalid JSON payload received.');
      }
      const raw = Buffer.from(body?.raw ?? '', 'base64url');
      await sendResult(ctx, mailbox, raw, body?.threadId);
    }),
  );

  const uploadPrefix = '/upload/gmail/v1/users/:userId';
  router.add(
    'POST',
    `${uploadPrefix}/messages/send`,
    api('messages.send', SEND, async ({ ctx, mailbox }) => {
      const uploadType = ctx.query.get('uploadType') ?? 'media';
      let bytes: Buffer;
      try {
        bytes = await ctx.body(GMAIL_UPLOAD_LIMIT_BYTES);
      } catch (e) {
        if (e instanceof BodyTooLargeError) throw gmailErrors.tooLarge(e.limit);
        throw e;
      }
      if (uploadType === 'media') {
        if (!ctx.contentType.startsWith('message/')) {
          throw gmailErrors.badRequest(
            `Media type '${ctx.contentType}' is not supported. Valid media types: [message/*]`,
          );
        }
        return sendResult(ctx, mailbox, bytes);
      }
      if (uploadType === 'multipart') {
        const boundary = parseParameterHeader(ctx.header('content-type')).params.boundary;
        if (!ctx.contentType.startsWith('multipart/') || !boundary) {
          throw gmailErrors.badRequest('Expected multipart/related content with a boundary.');
        }
        const parts = splitMultipart(bytes, boundary).map((p) => {
          const { head, body } = splitMessage(p);
          const headers = parseHeaderBlock(head);
          const cte = (headerValue(headers, 'content-transfer-encoding') ?? '').toLowerCase();
          return {
            type: (headerValue(headers, 'content-type') ?? '').toLowerCase(),
            body: decodeTransfer(body, cte),
          };
        });
        const meta = parts.find((p) => p.type.startsWith('application/json'));
        const media = parts.find((p) => !p.type.startsWith('application/json'));
        if (!media) throw gmailErrors.badRequest('Missing media part.');
        if (!media.type.startsWith('message/')) {
          throw gmailErrors.badRequest(
            `Media type '${media.type}' is not supported. Valid media types: [message/*]`,
          );
        }
        const metadata = meta
          ? (JSON.parse(meta.body.toString('utf8') || '{}') as { threadId?: string })
          : {};
        return sendResult(ctx, mailbox, media.body, metadata.threadId);
      }
      if (uploadType === 'resumable') {
        const metadata =
          bytes.length > 0 ? (JSON.parse(bytes.toString('utf8')) as { threadId?: string }) : {};
        const uploadId = `AHVAdN${c.ids.base64url(48)}`;
        const total = Number(ctx.header('x-upload-content-length') ?? NaN);
        resumable.set(uploadId, {
          mailbox: mailbox.address,
          threadId: metadata.threadId,
          chunks: [],
          received: 0,
          total: Number.isFinite(total) ? total : undefined,
        });
        const location = `${c.baseUrl()}/upload/gmail/v1/users/${encodeURIComponent(ctx.params.userId)}/messages/send?uploadType=resumable&upload_id=${uploadId}`;
        ctx.send(200, undefined, { location, 'x-guploader-uploadid': uploadId });
        return;
      }
      throw gmailErrors.badRequest(`Invalid uploadType: ${uploadType}`);
    }),
  );

  // Resumable session data: the session URL is its own credential, as at Google.
  router.add('PUT', `${uploadPrefix}/messages/send`, async (ctx) => {
    const session = resumable.get(ctx.query.get('upload_id') ?? '');
    if (!session) throw gmailErrors.notFound();
    const chunk = await ctx.body(GMAIL_UPLOAD_LIMIT_BYTES);
    session.chunks.push(chunk);
    session.received += chunk.length;
    if (session.received > GMAIL_UPLOAD_LIMIT_BYTES) throw gmailErrors.tooLarge(GMAIL_UPLOAD_LIMIT_BYTES);
    const range = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(ctx.header('content-range') ?? '');
    const total = range && range[3] !== '*' ? Number(range[3]) : (session.total ?? session.received);
    if (session.received < total) {
      ctx.send(308, undefined, { range: `bytes=0-${session.received - 1}` });
      return;
    }
    resumable.delete(ctx.query.get('upload_id') ?? '');
    const mailbox = c.service.get(session.mailbox);
    if (!mailbox) throw gmailErrors.notFound();
    await sendResult(ctx, mailbox, Buffer.concat(session.chunks), session.threadId);
  });

  router.add(
    'GET',
    `${prefix}/threads`,
    api('threads.list', METADATA, ({ ctx, mailbox }) => {
      const predicate = compileGmailQuery(ctx.query.get('q') ?? undefined, c.clock.now());
      const labelIds = ctx.query.getAll('labelIds');
      const threads = [...mailbox.threads.entries()]
        .map(([id, ids]) => ({
          id,
          messages: ids.map((m) => mailbox.messages.get(m)).filter((m): m is GmailMessage => !!m),
        }))
        .filter((t) =>
          t.messages.some((m) => labelIds.every((l) => m.labelIds.has(l)) && predicate(m.search)),
        )
        .sort(
          (a, b) =>
            Math.max(...b.messages.map((m) => m.internalDate)) -
            Math.max(...a.messages.map((m) => m.internalDate)),
        );
      const { max, offset } = pageParams(ctx, 100);
      const page = threads.slice(offset, offset + max);
      const body: Record<string, unknown> = { resultSizeEstimate: threads.length };
      if (page.length > 0) {
        body.threads = page.map((t) => ({
          id: t.id,
          snippet: t.messages[t.messages.length - 1].snippet,
          historyId: String(Math.max(...t.messages.map((m) => m.historyId))),
        }));
      }
      if (offset + max < threads.length) body.nextPageToken = String(offset + max);
      ctx.json200(body);
    }),
  );

  router.add(
    'GET',
    `${prefix}/threads/:id`,
    api('threads.get', METADATA, ({ ctx, mailbox, token }) => {
      const ids = mailbox.threads.get(ctx.params.id);
      if (!ids) throw gmailErrors.notFound();
      const f = format(ctx, token, false);
      const messages = ids
        .map((id) => mailbox.messages.get(id))
        .filter((m): m is GmailMessage => !!m)
        .sort((a, b) => a.internalDate - b.internalDate);
      ctx.json200({
        id: ctx.params.id,
        historyId: String(Math.max(...messages.map((m) => m.historyId))),
        messages: messages.map((m) => formatMessage(m, f, c.ids, ctx.query.getAll('metadataHeaders'))),
      });
    }),
  );

  router.add(
    'GET',
    `${prefix}/history`,
    api('history.list', METADATA, ({ ctx, mailbox }) => {
      const startRaw = ctx.query.get('startHistoryId');
      if (!startRaw || !/^\d+$/.test(startRaw)) throw gmailErrors.invalidArgument('Invalid startHistoryId');
      const start = Number(startRaw);
      if (mailbox.isStale(start)) throw gmailErrors.notFound();
      const types = ctx.query.getAll('historyTypes');
      const labelId = ctx.query.get('labelId') ?? undefined;
      const after = Math.max(start, Number(ctx.query.get('pageToken') ?? 0) || 0);
      const max = Math.min(LIST_MAX, Math.max(1, Number(ctx.query.get('maxResults') ?? 100) || 100));
      const matching = mailbox.history.filter(
        (r) =>
          r.id > after &&
          (types.length === 0 || types.includes(r.kind)) &&
          (!labelId || r.messageLabels.includes(labelId) || r.changedLabels.includes(labelId)),
      );
      const page = matching.slice(0, max);
      const body: Record<string, unknown> = { historyId: String(mailbox.historyId) };
      if (page.length > 0) {
        body.history = page.map((r) => {
          const ref = { id: r.messageId, threadId: r.threadId };
          const withLabels = { ...ref, labelIds: r.messageLabels };
          const item: Record<string, unknown> = { id: String(r.id), messages: [ref] };
          if (r.kind === 'messageAdded') item.messagesAdded = [{ message: withLabels }];
          if (r.kind === 'messageDeleted') item.messagesDeleted = [{ message: ref }];
          if (r.kind === 'labelAdded')
            item.labelsAdded = [{ message: withLabels, labelIds: r.changedLabels }];
          if (r.kind === 'labelRemoved')
            item.labelsRemoved = [{ message: withLabels, labelIds: r.changedLabels }];
          return item;
        });
      }
      if (matching.length > max) body.nextPageToken = String(page[page.length - 1].id);
      ctx.json200(body);
    }),
  );

  router.add(
    'POST',
    `${prefix}/watch`,
    api('watch', METADATA, async ({ ctx, mailbox }) => {
      const body =
        (await ctx.json<{
          topicName?: string;
          labelIds?: string[];
          labelFilterBehavior?: string;
          labelFilterAction?: string;
        }>()) ?? {};
      const m = /^projects\/([^/]+)\/topics\/([^/]+)$/.exec(body.topicName ?? '');
      if (!m)
        throw gmailErrors.invalidArgument(
          `Invalid topicName does not match projects/${c.projectId}/topics/*`,
        );
      if (m[1] !== c.projectId) {
        throw gmailErrors.invalidArgument(
          `Invalid topicName does not match projects/${c.projectId}/topics/*`,
        );
      }
      if (!c.push.topics.has(body.topicName ?? '')) {
        throw gmailError(404, `Resource not found (resource=${m[2]}).`, 'notFound');
      }
      const behavior = (body.labelFilterBehavior ?? body.labelFilterAction ?? 'include').toLowerCase();
      const expiration = c.clock.now() + 7 * 86_400_000;
      mailbox.watch = {
        topicName: body.topicName ?? '',
        labelIds: body.labelIds ?? [],
        behavior: behavior === 'exclude' ? 'exclude' : 'include',
        expiration,
      };
      ctx.json200({ historyId: String(mailbox.historyId), expiration: String(expiration) });
    }),
  );

  router.add(
    'POST',
    `${prefix}/stop`,
    api('stop', METADATA, ({ ctx, mailbox }) => {
      mailbox.watch = undefined;
      ctx.send(204);
    }),
  );

  return router;
}

export function gmailErrorMapper(ctx: RequestContext, error: unknown): void {
  if (error instanceof HttpError) {
    ctx.json200(error.body, error.status, error.headers);
    return;
  }
  if (error instanceof SyntaxError) {
    const e = gmailErrors.badRequest('Invalid JSON payload received.');
    ctx.json200(e.body, e.status);
    return;
  }
  const e = gmailError(500, 'Backend Error', 'backendError');
  ctx.json200(e.body, 500);
}
