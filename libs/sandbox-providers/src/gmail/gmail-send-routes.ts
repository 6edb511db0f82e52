// Gmail messages.send: the JSON `raw` form and the media, multipart and resumable upload paths.
import { BodyTooLargeError, type RequestContext, type Router } from '../shared/http-kit';
import { headerValue, parseHeaderBlock, parseParameterHeader, splitMessage } from '../shared/mime-headers';
import { decodeTransfer, splitMultipart } from '../shared/mime-parser';
import { gmailErrors } from './gmail-errors';
import type { GmailMailbox } from './gmail-mailbox';
import {
  GMAIL_PREFIX,
  GMAIL_UPLOAD_PREFIX,
  type GmailApi,
  type GmailRoutesContext,
  SEND,
} from './gmail-route-kit';

export const GMAIL_UPLOAD_LIMIT_BYTES = 36_700_160;

export function addGmailSendRoutes(router: Router, c: GmailRoutesContext, api: GmailApi): void {
  const resumable = new Map<
    string,
    { mailbox: string; threadId?: string; chunks: Buffer[]; received: number; total?: number }
  >();

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
    `${GMAIL_PREFIX}/messages/send`,
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

  router.add(
    'POST',
    `${GMAIL_UPLOAD_PREFIX}/messages/send`,
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
  router.add('PUT', `${GMAIL_UPLOAD_PREFIX}/messages/send`, async (ctx) => {
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
}
