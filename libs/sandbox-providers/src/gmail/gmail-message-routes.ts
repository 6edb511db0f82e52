// Gmail messages.* (list, get, attachments, modify, batchModify, trash, delete) and threads.* routes.
import type { Router } from '../shared/http-kit';
import { FULL_MAIL_SCOPE } from '../google/google-accounts';
import { gmailError, gmailErrors } from './gmail-errors';
import type { GmailMessage } from './gmail-mailbox';
import { decodeAttachmentId, findPart, formatMessage } from './gmail-message-format';
import {
  GMAIL_PREFIX,
  type GmailApi,
  type GmailRoutesContext,
  messageOf,
  metadataOnly,
  METADATA,
  MODIFY,
  pageParams,
  READ,
  requestedFormat,
} from './gmail-route-kit';
import { compileGmailQuery, queryMentionsSpamOrTrash } from './gmail-search';

export function addGmailMessageRoutes(router: Router, c: GmailRoutesContext, api: GmailApi): void {
  router.add(
    'GET',
    `${GMAIL_PREFIX}/messages`,
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
    `${GMAIL_PREFIX}/messages/:id`,
    api('messages.get', METADATA, ({ ctx, mailbox, token }) => {
      const m = messageOf(mailbox, ctx.params.id);
      ctx.json200(
        formatMessage(m, requestedFormat(ctx, token, true), c.ids, ctx.query.getAll('metadataHeaders')),
      );
    }),
  );

  router.add(
    'GET',
    `${GMAIL_PREFIX}/messages/:messageId/attachments/:id`,
    api('messages.attachments.get', READ, ({ ctx, mailbox }) => {
      const m = messageOf(mailbox, ctx.params.messageId);
      const ref = decodeAttachmentId(ctx.params.id);
      if (!ref || ref.messageId !== m.id) throw gmailErrors.invalidArgument('Invalid attachment token');
      const part = findPart(m.mime, ref.partId);
      if (!part) throw gmailErrors.notFound();
      ctx.json200({ size: part.body.length, data: part.body.toString('base64url') });
    }),
  );

  router.add(
    'POST',
    `${GMAIL_PREFIX}/messages/:id/modify`,
    api('messages.modify', MODIFY, async ({ ctx, mailbox }) => {
      const m = messageOf(mailbox, ctx.params.id);
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
    `${GMAIL_PREFIX}/messages/batchModify`,
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
    `${GMAIL_PREFIX}/messages/:id/trash`,
    api('messages.trash', MODIFY, ({ ctx, mailbox }) => {
      const m = messageOf(mailbox, ctx.params.id);
      mailbox.modifyCalls++;
      c.service.modify(mailbox, m, ['TRASH'], ['INBOX', 'UNREAD']);
      ctx.json200({ id: m.id, threadId: m.threadId, labelIds: [...m.labelIds] });
    }),
  );

  router.add(
    'DELETE',
    `${GMAIL_PREFIX}/messages/:id`,
    api('messages.delete', [FULL_MAIL_SCOPE], ({ ctx, mailbox }) => {
      c.service.delete(mailbox, messageOf(mailbox, ctx.params.id));
      ctx.send(204);
    }),
  );
}

export function addGmailThreadRoutes(router: Router, c: GmailRoutesContext, api: GmailApi): void {
  router.add(
    'GET',
    `${GMAIL_PREFIX}/threads`,
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
    `${GMAIL_PREFIX}/threads/:id`,
    api('threads.get', METADATA, ({ ctx, mailbox, token }) => {
      const ids = mailbox.threads.get(ctx.params.id);
      if (!ids) throw gmailErrors.notFound();
      const f = requestedFormat(ctx, token, false);
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
}
