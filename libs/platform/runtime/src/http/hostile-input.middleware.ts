import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { isStorableText } from '@mailbridge/contracts';
import { AppError } from './app-error';

/**
 * Input no route can use — text PostgreSQL cannot hold (NUL, lone surrogates), bytes that are not UTF-8, broken
 * percent-encoding, JSON nested deeper than any of our bodies, numbers no field can hold — is refused here, once, for
 * every route of every service: a 400 in the standard error shape before any guard, pipe or handler sees it. Left to
 * the routes, each one failed differently, and several with a 500 (an insert refusing NUL, a recursion overflowing).
 */

/** Deeper than any body of ours (the deepest, a send, is about 4 levels); `[[[…]]]` bodies stop here. */
export const MAX_JSON_DEPTH = 32;

/** Error `type` body-parser passes on when our `verify` refuses the bytes. */
const INVALID_UTF8 = 'body.invalid_utf8';

function hostile(code: string, message: string, details?: unknown): AppError {
  return new AppError('validation', code, message, details);
}

/** Why a request target (path and query, as sent) is unusable; undefined when it is fine. */
export function requestTargetProblem(target: string): AppError | undefined {
  // RFC 3986: a request target is ASCII; anything else must be percent-encoded (raw bytes ≥ 0x80 arrive as latin1).
  if (/[^\x21-\x7e]/.test(target))
    return hostile('invalid_url', 'The URL has characters that must be percent-encoded');
  let decoded: string;
  try {
    // Throws on a malformed escape (`%E0%A4%A`) and on escapes that are not UTF-8 (`%C3%28`, `%ED%A0%80`).
    decoded = decodeURIComponent(target);
  } catch {
    return hostile('invalid_url', 'The URL has malformed percent-encoding or is not UTF-8');
  }
  if (!isStorableText(decoded)) return hostile('invalid_url', 'The URL contains a NUL character');
  return undefined;
}

/** Why a header is unusable: its bytes are not UTF-8 (Node reads them as latin1), or it holds text we cannot store. */
export function headerProblem(rawHeaders: readonly string[]): AppError | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const value = rawHeaders[i + 1];
    if (!isUtf8(Buffer.from(value, 'latin1')) || !isStorableText(value))
      return hostile('invalid_header', `Header ${rawHeaders[i]} is not valid UTF-8 text`);
  }
  return undefined;
}

/**
 * Why a parsed JSON body is unusable; walks it without recursion, so a body of any depth costs one bounded loop
 * (a recursive walk — class-transformer's, say — overflows the stack on `[[[…]]]`).
 */
export function jsonBodyProblem(body: unknown): AppError | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: body, depth: 0, path: '' }];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const { value, depth, path } = next;
    if (typeof value === 'string') {
      if (!isStorableText(value))
        return hostile('invalid_text', 'Text in the body contains a NUL character or a lone surrogate', {
          path: path || '(root)',
        });
    } else if (typeof value === 'number') {
      // 1e400 parses as Infinity; integers past 2^53 have already lost digits. No field of ours holds either.
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))
        return hostile('number_out_of_range', 'A number in the body is out of range', {
          path: path || '(root)',
        });
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= MAX_JSON_DEPTH)
        return hostile('body_too_deep', `The body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      for (const [key, item] of Object.entries(value)) {
        if (!isStorableText(key))
          return hostile('invalid_text', 'A key in the body contains a NUL character or a lone surrogate');
        stack.push({ value: item, depth: depth + 1, path: path ? `${path}.${key}` : key });
      }
    }
  }
  return undefined;
}

/** Before routing: the request target and headers. */
export function hostileRequestMiddleware() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(requestTargetProblem(req.originalUrl) ?? headerProblem(req.rawHeaders));
  };
}

/** After body parsing: the parsed JSON body (other bodies — multipart uploads — are each route's to read). */
export function hostileBodyMiddleware() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    // Express 5 leaves `req.body` undefined unless a parser read the body.
    next(req.body === undefined ? undefined : jsonBodyProblem(req.body));
  };
}

/** body-parser options every JSON parser of a service uses: the bytes of a UTF-8 body must be UTF-8. */
export function jsonParserOptions(limitBytes: number) {
  return {
    limit: limitBytes,
    verify: (_req: IncomingMessage, _res: unknown, buf: Buffer, encoding: string | null) => {
      if ((encoding ?? 'utf-8').toLowerCase().replace('-', '') === 'utf8' && !isUtf8(buf))
        throw Object.assign(new Error('Request body is not valid UTF-8'), { type: INVALID_UTF8 });
    },
  };
}

/** The AppError for a body-parser error raised by `jsonParserOptions`' verify; undefined for any other error. */
export function bodyVerifyProblem(err: unknown): AppError | undefined {
  return (err as { type?: unknown } | undefined)?.type === INVALID_UTF8
    ? hostile('invalid_body_encoding', 'Request body is not valid UTF-8')
    : undefined;
}

/**
 * Requests Node's own HTTP parser refuses (NUL or control characters in a header, a malformed request line, headers
 * too large) never reach Express; Node would answer a bare `400` without a body. They get the standard error too.
 */
export function answerClientErrorsInStandardShape(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'Request headers are too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout', 'request_timeout', 'The request took too long to arrive']
          : [400, 'Bad Request', 'invalid_request', 'The request is not valid HTTP'];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
