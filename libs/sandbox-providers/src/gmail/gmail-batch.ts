import type { IdFactory } from '../shared/id-factory';
import { BodyTooLargeError, type RequestContext, virtualExchange } from '../shared/http-kit';
import { parseHeaderBlock, parseParameterHeader, splitMessage } from '../shared/mime-headers';
import { splitMultipart } from '../shared/mime-parser';
import { gmailErrors } from './gmail-errors';

/** Google's limit: "You're limited to 100 calls in a single batch request." */
export const GMAIL_BATCH_LIMIT = 100;
const BATCH_BODY_LIMIT = 10 * 1024 * 1024;

export const GMAIL_BATCH_PATHS = ['/batch/gmail/v1', '/batch'];

interface InnerCall {
  contentId?: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body: Buffer;
}

function parsePart(part: Buffer, index: number): InnerCall {
  const outer = splitMessage(part);
  const outerHeaders = parseHeaderBlock(outer.head);
  const type = outerHeaders.find((h) => h.name.toLowerCase() === 'content-type')?.value ?? '';
  if (!/^application\/http/i.test(type.trim()))
    throw gmailErrors.badRequest(`Batch part ${index + 1}: Content-Type must be application/http.`);
  const contentId = outerHeaders.find((h) => h.name.toLowerCase() === 'content-id')?.value.trim();
  const text = outer.body;
  const eol = text.indexOf('\n');
  const line = text
    .subarray(0, eol === -1 ? text.length : eol)
    .toString('latin1')
    .trim();
  const m = /^([A-Z]+)\s+(\S+)(?:\s+HTTP\/\d(?:\.\d)?)?$/.exec(line);
  if (!m) throw gmailErrors.badRequest(`Batch part ${index + 1}: missing request line.`);
  const inner = splitMessage(eol === -1 ? Buffer.alloc(0) : text.subarray(eol + 1));
  const headers: Record<string, string> = {};
  for (const h of parseHeaderBlock(inner.head)) headers[h.name.toLowerCase()] = h.value;
  let body = inner.body;
  const length = Number(headers['content-length']);
  if (Number.isFinite(length) && length >= 0 && length < body.length) body = body.subarray(0, length);
  return { contentId, method: m[1], target: m[2], headers, body };
}

/**
 * `POST /batch/gmail/v1`, as Google serves it: a `multipart/mixed` body of up to 100 `application/http` parts, each
 * run as its own call through the ordinary routes (so each is authenticated, fault-injected and charged quota on its
 * own, like n separate requests), answered by a 200 `multipart/mixed` whose parts carry each call's own status,
 * headers and body, with `Content-ID: <x>` echoed as `<response-x>`. Outer headers other than Content-* apply to
 * every part unless the part sets them itself.
 */
export function gmailBatchHandler(
  dispatch: (ctx: RequestContext) => Promise<void>,
  ids: IdFactory,
  baseUrl: () => string,
) {
  return async (ctx: RequestContext): Promise<void> => {
    if (ctx.method !== 'POST') throw gmailErrors.badRequest('Batch requests must be POSTed.');
    const type = parseParameterHeader(ctx.header('content-type'));
    const boundary = type.params.boundary;
    if (!/^multipart\/mixed$/i.test(type.value) || !boundary)
      throw gmailErrors.badRequest('Batch requests must be multipart/mixed with a boundary.');
    let bytes: Buffer;
    try {
      bytes = await ctx.body(BATCH_BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLargeError) throw gmailErrors.tooLarge(e.limit);
      throw e;
    }
    const parts = splitMultipart(bytes, boundary);
    if (parts.length === 0) throw gmailErrors.badRequest('Batch request contains no parts.');
    if (parts.length > GMAIL_BATCH_LIMIT)
      throw gmailErrors.badRequest(
        `Too many requests in batch: ${parts.length} (at most ${GMAIL_BATCH_LIMIT}).`,
      );
    const calls = parts.map(parsePart);
    const inherited: Record<string, string> = {};
    for (const [name, value] of Object.entries(ctx.req.headers)) {
      if (name.startsWith('content-') || value === undefined) continue;
      inherited[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const outBoundary = `batch_${ids.alphanumeric(24)}`;
    const chunks: Buffer[] = [];
    for (const call of calls) {
      const path = call.target.startsWith('http') ? new URL(call.target).pathname : call.target;
      let response;
      if (GMAIL_BATCH_PATHS.includes(path.split('?')[0])) {
        const e = gmailErrors.badRequest('Nested batch requests are not allowed.');
        response = {
          status: e.status,
          headers: { 'content-type': 'application/json; charset=UTF-8' },
          body: Buffer.from(JSON.stringify(e.body)),
        };
      } else {
        const exchange = virtualExchange({
          method: call.method,
          url: call.target,
          baseUrl: baseUrl(),
          headers: { ...inherited, ...call.headers },
          body: call.body,
        });
        await dispatch(exchange.ctx);
        response = await exchange.done;
      }
      const head = [
        `--${outBoundary}`,
        'Content-Type: application/http',
        ...(call.contentId ? [`Content-ID: <response-${call.contentId.replace(/^<|>$/g, '')}>`] : []),
        '',
        `HTTP/1.1 ${response.status} ${statusText(response.status)}`,
        ...Object.entries(response.headers)
          .filter(([k]) => k !== 'content-length')
          .map(([k, v]) => `${k}: ${v}`),
        `content-length: ${response.body.length}`,
        '',
        '',
      ].join('\r\n');
      chunks.push(Buffer.from(head, 'latin1'), response.body, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${outBoundary}--\r\n`));
    ctx.send(200, Buffer.concat(chunks), { 'content-type': `multipart/mixed; boundary=${outBoundary}` });
  };
}

function statusText(status: number): string {
  return (
    {
      200: 'OK',
      204: 'No Content',
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      413: 'Payload Too Large',
      429: 'Too Many Requests',
      500: 'Internal Server Error',
      503: 'Service Unavailable',
    }[status] ?? ''
  );
}
