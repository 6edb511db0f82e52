// Graph message routes: drafts (JSON or MIME), read/update/delete, `$value`, send, reply/forward, move, sendMail.
import { graphError, graphErrors } from './graph-errors';
import { listMessages } from './graph-message-list';
import type { GraphMessageInput, ReplyKind } from './graph-message-input';
import {
  type GraphRouteKit,
  type GraphRouter,
  folderOf,
  message,
  need,
  READ,
  READ_FULL,
  readJson,
  readMime,
  SEND,
  WRITE,
} from './graph-route-kit';

export function registerMessageRoutes(router: GraphRouter, kit: GraphRouteKit): void {
  const { c, messageResponse } = kit;
  router.add('GET', '/me/messages', (call) => (need(call.token, READ), listMessages(kit, call)));
  router.add('POST', '/me/messages', async (call) => {
    need(call.token, WRITE);
    // MIME draft creation arrives as text/plain.
    if (call.ctx.contentType === 'text/plain') {
      const draft = c.service.store(call.mailbox, await readMime(call.ctx), 'drafts');
      draft.isDraft = true;
      draft.raw = undefined;
      messageResponse(call, draft, 201);
      return;
    }
    messageResponse(
      call,
      c.service.createDraft(call.mailbox, await readJson<GraphMessageInput>(call.ctx)),
      201,
    );
  });
  router.add('GET', '/me/messages/delta', () => {
    throw graphErrors.badRequest(
      "Change tracking is not supported against 'microsoft.graph.message' for the whole mailbox; use mailFolders/{id}/messages/delta.",
    );
  });
  router.add(
    'GET',
    '/me/messages/:id',
    (call) => (need(call.token, READ), messageResponse(call, message(call, call.ctx.params.id))),
  );
  router.add('PATCH', '/me/messages/:id', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    call.mailbox.modifyCalls++;
    c.service.update(call.mailbox, m, await readJson<GraphMessageInput>(call.ctx));
    messageResponse(call, m);
  });
  router.add('DELETE', '/me/messages/:id', (call) => {
    need(call.token, WRITE);
    call.mailbox.remove(message(call, call.ctx.params.id));
    call.ctx.send(204);
  });
  router.add('GET', '/me/messages/:id/$value', async (call) => {
    need(call.token, READ_FULL);
    const m = message(call, call.ctx.params.id);
    const raw = m.raw ?? (await c.service.toMime(call.mailbox, m));
    call.ctx.send(200, raw, { 'content-type': 'text/plain' });
  });
  router.add('POST', '/me/messages/:id/send', async (call) => {
    need(call.token, SEND);
    await c.service.sendDraft(call.mailbox, message(call, call.ctx.params.id));
    call.ctx.send(202);
  });
  for (const kind of ['createReply', 'createReplyAll', 'createForward'] as const) {
    router.add('POST', `/me/messages/:id/${kind}`, async (call) => {
      need(call.token, WRITE);
      const original = message(call, call.ctx.params.id);
      const input = await readJson<{
        comment?: string;
        message?: GraphMessageInput;
        toRecipients?: GraphMessageInput['toRecipients'];
      }>(call.ctx);
      const map: Record<string, ReplyKind> = {
        createReply: 'reply',
        createReplyAll: 'replyAll',
        createForward: 'forward',
      };
      messageResponse(call, c.service.createReply(call.mailbox, original, map[kind], input), 201);
    });
  }
  for (const kind of ['reply', 'replyAll', 'forward'] as const) {
    router.add('POST', `/me/messages/:id/${kind}`, async (call) => {
      need(call.token, SEND);
      const original = message(call, call.ctx.params.id);
      const input = await readJson<{
        comment?: string;
        message?: GraphMessageInput;
        toRecipients?: GraphMessageInput['toRecipients'];
      }>(call.ctx);
      if (kind === 'forward' && !input.toRecipients && !input.message?.toRecipients) {
        throw graphError(
          400,
          'ErrorInvalidRecipients',
          "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
        );
      }
      const draft = c.service.createReply(call.mailbox, original, kind, input);
      await c.service.sendDraft(call.mailbox, draft);
      call.ctx.send(202);
    });
  }
  router.add('POST', '/me/messages/:id/move', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    const body = await readJson<{ destinationId?: string }>(call.ctx);
    call.mailbox.move(m, folderOf(call, body.destinationId ?? ''));
    messageResponse(call, m, 201);
  });
  router.add('POST', '/me/sendMail', async (call) => {
    need(call.token, SEND);
    if (call.ctx.contentType === 'text/plain') {
      await c.service.sendMime(call.mailbox, await readMime(call.ctx), true);
    } else {
      const body = await readJson<{ message?: GraphMessageInput; saveToSentItems?: boolean | string }>(
        call.ctx,
      );
      if (!body.message)
        throw graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty.");
      await c.service.sendMail(
        call.mailbox,
        body.message,
        body.saveToSentItems !== false && body.saveToSentItems !== 'false',
      );
    }
    call.ctx.send(202);
  });
}
