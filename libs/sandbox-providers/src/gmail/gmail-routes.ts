// Gmail API v1 router: assembles the route families and holds profile, settings, labels, history and watch routes.
import { HttpError, type RequestContext, Router } from '../shared/http-kit';
import { gmailError, gmailErrors } from './gmail-errors';
import { type HistoryRecord, SYSTEM_LABELS } from './gmail-mailbox';
import { addGmailMessageRoutes, addGmailThreadRoutes } from './gmail-message-routes';
import {
  GMAIL_SCOPE,
  GMAIL_PREFIX,
  gmailApi,
  type GmailRoutesContext,
  LIST_MAX,
  METADATA,
  PROFILE,
} from './gmail-route-kit';
import { addGmailSendRoutes } from './gmail-send-routes';

export type { GmailRoutesContext } from './gmail-route-kit';
export { GMAIL_UPLOAD_LIMIT_BYTES } from './gmail-send-routes';

/** Gmail API v1 under `/gmail/v1/users/{userId}/…` and the media upload paths. */
export function gmailRoutes(c: GmailRoutesContext): Router {
  const router = new Router();
  const api = gmailApi(c);

  router.add(
    'GET',
    `${GMAIL_PREFIX}/profile`,
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
  const SETTINGS_READ = [...METADATA, `${GMAIL_SCOPE}settings.basic`];
  router.add(
    'GET',
    `${GMAIL_PREFIX}/settings/sendAs`,
    api('settings.sendAs.list', SETTINGS_READ, ({ ctx, mailbox }) =>
      ctx.json200({ sendAs: mailbox.sendAsList() }),
    ),
  );
  router.add(
    'GET',
    `${GMAIL_PREFIX}/settings/sendAs/:sendAsEmail`,
    api('settings.sendAs.get', SETTINGS_READ, ({ ctx, mailbox }) => {
      const wanted = decodeURIComponent(ctx.params.sendAsEmail).toLowerCase();
      const entry = mailbox.sendAsList().find((a) => a.sendAsEmail.toLowerCase() === wanted);
      if (!entry) throw gmailErrors.notFound();
      ctx.json200(entry);
    }),
  );

  router.add(
    'GET',
    `${GMAIL_PREFIX}/labels`,
    api('labels.list', METADATA, ({ ctx }) =>
      ctx.json200({ labels: SYSTEM_LABELS.map((id) => ({ id, name: id, type: 'system' })) }),
    ),
  );

  router.add(
    'GET',
    `${GMAIL_PREFIX}/labels/:id`,
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

  addGmailMessageRoutes(router, c, api);
  addGmailSendRoutes(router, c, api);
  addGmailThreadRoutes(router, c, api);

  router.add(
    'GET',
    `${GMAIL_PREFIX}/history`,
    api('history.list', METADATA, ({ ctx, mailbox }) => {
      const startRaw = ctx.query.get('startHistoryId');
      if (!startRaw || !/^\d+$/.test(startRaw)) throw gmailErrors.invalidArgument('Invalid startHistoryId');
      const start = Number(startRaw);
      if (mailbox.isStale(start)) throw gmailErrors.notFound();
      const types = ctx.query.getAll('historyTypes');
      const labelId = ctx.query.get('labelId') ?? undefined;
      const after = Math.max(start, Number(ctx.query.get('pageToken') ?? 0) || 0);
      const max = Math.min(LIST_MAX, Math.max(1, Number(ctx.query.get('maxResults') ?? 100) || 100));
      // Only the records after the start are read (a filter over the whole history grew with the mailbox), and only
      // up to one past the page: that one says whether there is a next page.
      const matching: HistoryRecord[] = [];
      for (
        let i = mailbox.historyIndexAfter(after);
        i < mailbox.history.length && matching.length <= max;
        i++
      ) {
        const r = mailbox.history[i];
        if (
          (types.length === 0 || types.includes(r.kind)) &&
          (!labelId || r.messageLabels.includes(labelId) || r.changedLabels.includes(labelId))
        )
          matching.push(r);
      }
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
    `${GMAIL_PREFIX}/watch`,
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
    `${GMAIL_PREFIX}/stop`,
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
