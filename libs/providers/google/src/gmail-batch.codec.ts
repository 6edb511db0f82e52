import { randomBytes } from 'node:crypto';

/**
 * Google's HTTP batch format (`POST /batch/gmail/v1`): a `multipart/mixed` body with one `application/http` part per
 * call, each carrying a whole HTTP request line, headers and body, and answered by a `multipart/mixed` response whose
 * parts are whole HTTP responses, matched by `Content-ID` (`<x>` comes back as `<response-x>`). Each inner call has
 * its own status, so a 404 or 429 of one call sits inside a 200 batch. `@googleapis/gmail` has no batch API; this is
 * the small codec the gateway and the sandbox share.
 */

/** Google accepts at most 100 calls in one batch request. */
export const GMAIL_BATCH_MAX_CALLS = 100;

export interface BatchCall {
  /** Unique within the batch; sent as `Content-ID: <id>`. */
  readonly id: string;
  readonly method: string;
  /** Path and query, e.g. `/gmail/v1/users/me/messages/abc?format=raw`. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface BatchPartResponse {
  /** The call's `Content-ID` without the `response-` prefix and angle brackets. */
  readonly id: string;
  readonly status: number;
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export class BatchFormatError extends Error {
  constructor(message: string) {
    super(`batch: ${message}`);
    this.name = 'BatchFormatError';
  }
}

const CRLF = '\r\n';

export function newBatchBoundary(): string {
  return `batch_${randomBytes(12).toString('hex')}`;
}

/** The multipart body of a batch request (the caller sets `Content-Type: multipart/mixed; boundary=…`). */
export function encodeBatchRequest(calls: readonly BatchCall[], boundary: string): string {
  if (calls.length === 0) throw new BatchFormatError('no calls');
  if (calls.length > GMAIL_BATCH_MAX_CALLS)
    throw new BatchFormatError(`${calls.length} calls, at most ${GMAIL_BATCH_MAX_CALLS}`);
  const seen = new Set<string>();
  let out = '';
  for (const call of calls) {
    if (seen.has(call.id)) throw new BatchFormatError(`duplicate Content-ID ${call.id}`);
    seen.add(call.id);
    out += `--${boundary}${CRLF}Content-Type: application/http${CRLF}Content-ID: <${call.id}>${CRLF}${CRLF}`;
    out += `${call.method.toUpperCase()} ${call.path}${CRLF}`;
    for (const [name, value] of Object.entries(call.headers ?? {})) out += `${name}: ${value}${CRLF}`;
    if (call.body !== undefined) out += `Content-Length: ${Buffer.byteLength(call.body)}${CRLF}`;
    out += CRLF;
    if (call.body !== undefined) out += call.body;
    out += CRLF;
  }
  return `${out}--${boundary}--${CRLF}`;
}

/** The `boundary` parameter of a `multipart/*` Content-Type. */
export function boundaryOf(contentType: string | undefined): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary || !/^multipart\//i.test((contentType ?? '').trim()))
    throw new BatchFormatError(`not multipart with a boundary: ${contentType ?? '(none)'}`);
  return boundary;
}

/** The parts of a multipart body, each as its raw text (headers, blank line, content), boundaries removed. */
export function splitMultipartText(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  let index = body.indexOf(delimiter);
  if (index === -1) throw new BatchFormatError('boundary not found in body');
  for (;;) {
    let start = index + delimiter.length;
    if (body.startsWith('--', start)) break; // closing delimiter
    // The delimiter line ends with CRLF (or LF from lenient writers).
    start = body.indexOf('\n', start);
    if (start === -1) throw new BatchFormatError('truncated part');
    start += 1;
    const next = body.indexOf(`\n${delimiter}`, start);
    if (next === -1) throw new BatchFormatError('missing closing boundary');
    const end = body[next - 1] === '\r' ? next - 1 : next;
    parts.push(body.slice(Math.min(start, end), end));
    index = next + 1;
  }
  return parts;
}

/** Splits `headers CRLF CRLF rest`; header names lower-cased, folded lines joined. */
export function splitHead(text: string): {
  headers: Record<string, string>;
  rest: string;
  firstLine?: string;
} {
  const m = /\r?\n\r?\n/.exec(text);
  const head = m ? text.slice(0, m.index) : text;
  const rest = m ? text.slice(m.index + m[0].length) : '';
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, rest };
}

const stripContentId = (value: string | undefined): string =>
  (value ?? '')
    .trim()
    .replace(/^<(.*)>$/, '$1')
    .replace(/^response-/, '');

/** Parses a batch response body into one response per call, keyed by the call's id. */
export function parseBatchResponse(body: string, contentType: string | undefined): BatchPartResponse[] {
  const boundary = boundaryOf(contentType);
  return splitMultipartText(body, boundary).map((part) => {
    const outer = splitHead(part);
    const id = stripContentId(outer.headers['content-id']);
    const http = outer.rest;
    const lineEnd = http.indexOf('\n');
    const statusLine = (lineEnd === -1 ? http : http.slice(0, lineEnd)).trim();
    const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine);
    if (!status) throw new BatchFormatError(`part ${id || '?'} has no HTTP status line`);
    const inner = splitHead(lineEnd === -1 ? '' : http.slice(lineEnd + 1));
    return { id, status: Number(status[1]), headers: inner.headers, body: inner.rest };
  });
}
