// Graph attachment routes: list/get/add/delete a message's attachments, and upload sessions for large ones
// (created on the message, filled by PUTs of byte ranges to a pre-authenticated URL).
import type { RequestContext } from '../shared/http-kit';
import { graphError, graphErrors } from './graph-errors';
import { attachmentJson, graphDate } from './graph-json';
import {
  type GraphRouteKit,
  type GraphRouter,
  json,
  message,
  need,
  READ_FULL,
  readJson,
  UPLOAD_SESSION_LIMIT,
  WRITE,
} from './graph-route-kit';

export interface UploadSession {
  mailbox: string;
  messageId: string;
  name: string;
  size: number;
  contentType: string;
  isInline: boolean;
  contentId?: string;
  chunks: Buffer[];
  received: number;
  expiresAt: number;
}

/** Open upload sessions by id. */
export type UploadSessions = Map<string, UploadSession>;

export function registerAttachmentRoutes(
  router: GraphRouter,
  kit: GraphRouteKit,
  uploads: UploadSessions,
): void {
  const { c, base } = kit;
  router.add('GET', '/me/messages/:id/attachments', (call) => {
    need(call.token, READ_FULL);
    const m = message(call, call.ctx.params.id);
    json(call.ctx, {
      '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/messages('${m.restId}')/attachments`,
      value: m.attachments.map((a) => attachmentJson(a, true)),
    });
  });
  router.add('POST', '/me/messages/:id/attachments', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    if (!m.isDraft)
      throw graphError(400, 'ErrorInvalidOperation', 'Attachments can only be added to draft messages.');
    const input = await readJson<{
      name?: string;
      contentType?: string;
      contentBytes?: string;
      isInline?: boolean;
      contentId?: string;
    }>(call.ctx);
    const content = Buffer.from(input.contentBytes ?? '', 'base64');
    if (content.length > 3 * 1024 * 1024) {
      throw graphError(
        413,
        'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
        'The attachment is larger than 3 MB; use attachments/createUploadSession.',
      );
    }
    const att = c.service.newAttachment(
      input.name ?? 'attachment',
      input.contentType ?? 'application/octet-stream',
      content,
      !!input.isInline,
      input.contentId,
    );
    m.attachments.push(att);
    call.mailbox.touch(m);
    json(
      call.ctx,
      {
        '@odata.context': `${base()}/$metadata#users('${call.mailbox.oid}')/messages('${m.restId}')/attachments/$entity`,
        ...attachmentJson(att, true),
      },
      201,
    );
  });
  router.add('POST', '/me/messages/:id/attachments/createUploadSession', async (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    if (!m.isDraft)
      throw graphError(
        400,
        'ErrorInvalidOperation',
        'Upload sessions can only be created for draft messages.',
      );
    const body = await readJson<{
      AttachmentItem?: {
        attachmentType?: string;
        name?: string;
        size?: number;
        contentType?: string;
        isInline?: boolean;
        contentId?: string;
      };
    }>(call.ctx);
    const item = body.AttachmentItem;
    if (!item || item.attachmentType !== 'file' || !item.name || !item.size) {
      throw graphErrors.invalidRequest(
        'AttachmentItem with attachmentType "file", name and size is required.',
      );
    }
    if (item.size > UPLOAD_SESSION_LIMIT)
      throw graphError(400, 'ErrorAttachmentSizeExceeded', 'The attachment exceeds the 150 MB limit.');
    const sessionId = c.ids.base64url(36);
    const expiresAt = c.clock.now() + 6 * 3600_000;
    uploads.set(sessionId, {
      mailbox: call.mailbox.address,
      messageId: m.immutableId,
      name: item.name,
      size: item.size,
      contentType: item.contentType ?? 'application/octet-stream',
      isInline: !!item.isInline,
      contentId: item.contentId,
      chunks: [],
      received: 0,
      expiresAt,
    });
    const uploadUrl = `${c.baseUrl()}/api/v2.0/Users('${call.mailbox.oid}@${call.mailbox.tenantId}')/Messages('${m.immutableId}')/AttachmentSessions('${sessionId}')?authtoken=${c.ids.base64url(120)}`;
    json(
      call.ctx,
      {
        '@odata.context': `${base()}/$metadata#microsoft.graph.uploadSession`,
        uploadUrl,
        expirationDateTime: graphDate(expiresAt),
        nextExpectedRanges: ['0-'],
      },
      201,
    );
  });
  router.add('GET', '/me/messages/:id/attachments/:attId', (call) => {
    need(call.token, READ_FULL);
    const a = message(call, call.ctx.params.id).attachments.find((x) => x.id === call.ctx.params.attId);
    if (!a) throw graphErrors.notFound();
    json(call.ctx, attachmentJson(a, true));
  });
  router.add('GET', '/me/messages/:id/attachments/:attId/$value', (call) => {
    need(call.token, READ_FULL);
    const a = message(call, call.ctx.params.id).attachments.find((x) => x.id === call.ctx.params.attId);
    if (!a) throw graphErrors.notFound();
    call.ctx.send(200, a.content, { 'content-type': a.contentType });
  });
  router.add('DELETE', '/me/messages/:id/attachments/:attId', (call) => {
    need(call.token, WRITE);
    const m = message(call, call.ctx.params.id);
    m.attachments = m.attachments.filter((x) => x.id !== call.ctx.params.attId);
    call.mailbox.touch(m);
    call.ctx.send(204);
  });
}

/** Pre-authenticated upload URL: no Authorization needed (and any sent is ignored). */
export async function handleUpload(
  kit: GraphRouteKit,
  uploads: UploadSessions,
  ctx: RequestContext,
  sessionId: string,
): Promise<void> {
  const { c } = kit;
  const session = uploads.get(sessionId);
  if (!session || session.expiresAt < c.clock.now())
    throw graphError(404, 'ErrorItemNotFound', 'The upload session was not found or has expired.');
  if (ctx.method === 'DELETE') {
    uploads.delete(sessionId);
    ctx.send(204);
    return;
  }
  if (ctx.method !== 'PUT')
    throw graphError(405, 'ErrorInvalidRequest', 'Upload sessions accept PUT and DELETE.');
  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(ctx.header('content-range') ?? '');
  const chunk = await ctx.body(UPLOAD_SESSION_LIMIT);
  if (!range)
    throw graphErrors.invalidRequest('Content-Range header is required: bytes {start}-{end}/{total}.');
  const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
  if (start !== session.received || end - start + 1 !== chunk.length || total !== session.size) {
    throw graphError(
      416,
      'ErrorInvalidRange',
      `The uploaded range does not match the next expected range ${session.received}-.`,
    );
  }
  session.chunks.push(chunk);
  session.received += chunk.length;
  if (session.received < session.size) {
    json(ctx, {
      expirationDateTime: graphDate(session.expiresAt),
      nextExpectedRanges: [String(session.received)],
    });
    return;
  }
  uploads.delete(sessionId);
  const mailbox = c.service.get(session.mailbox);
  const m = mailbox?.byId(session.messageId);
  if (!mailbox || !m) throw graphErrors.notFound();
  const att = c.service.newAttachment(
    session.name,
    session.contentType,
    Buffer.concat(session.chunks),
    session.isInline,
    session.contentId,
  );
  m.attachments.push(att);
  mailbox.touch(m);
  ctx.send(201, undefined, {
    location: `${c.baseUrl()}/api/v2.0/Users('${mailbox.oid}@${mailbox.tenantId}')/Messages('${m.immutableId}')/Attachments('${att.id}')`,
  });
}
