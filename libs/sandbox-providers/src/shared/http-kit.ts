import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';

export type Headers = Record<string, string | string[]>;

/** Thrown by handlers; the emulator's error mapper (or the default) turns it into a response. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Headers = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
  }
}

export class RequestContext {
  readonly url: URL;
  readonly method: string;
  params: Record<string, string> = {};
  private bodyPromise?: Promise<Buffer>;
  responded = false;

  constructor(
    readonly req: http.IncomingMessage,
    readonly res: http.ServerResponse,
    baseUrl: string,
  ) {
    this.url = new URL(req.url ?? '/', baseUrl);
    this.method = (req.method ?? 'GET').toUpperCase();
  }

  get path(): string {
    return this.url.pathname;
  }

  get query(): URLSearchParams {
    return this.url.searchParams;
  }

  header(name: string): string | undefined {
    const v = this.req.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  get contentType(): string {
    return (this.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  }

  /** Reads the whole body once; rejects with BodyTooLargeError past `limit` bytes. */
  body(limit = 50 * 1024 * 1024): Promise<Buffer> {
    this.bodyPromise ??= new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let failed = false;
      this.req.on('data', (chunk: Buffer) => {
        if (failed) return;
        size += chunk.length;
        if (size > limit) {
          failed = true;
          reject(new BodyTooLargeError(limit));
          return;
        }
        chunks.push(chunk);
      });
      this.req.on('end', () => !failed && resolve(Buffer.concat(chunks)));
      this.req.on('error', (e) => !failed && reject(e));
    });
    return this.bodyPromise;
  }

  async text(limit?: number): Promise<string> {
    return (await this.body(limit)).toString('utf8');
  }

  /** Parses a JSON body; an empty body is `undefined`. Throws a plain SyntaxError on bad JSON. */
  async json<T = unknown>(limit?: number): Promise<T | undefined> {
    const text = await this.text(limit);
    if (text.trim() === '') return undefined;
    return JSON.parse(text) as T;
  }

  async form(limit?: number): Promise<URLSearchParams> {
    return new URLSearchParams(await this.text(limit));
  }

  send(status: number, body?: Buffer | string, headers: Headers = {}): void {
    if (this.responded) return;
    this.responded = true;
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const all: Headers = { ...headers };
    if (payload !== undefined) all['content-length'] = String(payload.length);
    else if (status !== 204 && status !== 304) all['content-length'] = '0';
    this.res.writeHead(status, all);
    this.res.end(payload);
  }

  json200(body: unknown, status = 200, headers: Headers = {}): void {
    this.send(status, JSON.stringify(body), {
      'content-type': 'application/json; charset=UTF-8',
      ...headers,
    });
  }

  html(body: string, status = 200): void {
    this.send(status, body, { 'content-type': 'text/html; charset=utf-8' });
  }

  redirect(location: string, status = 302): void {
    this.send(status, undefined, { location });
  }
}

export type Handler<T = RequestContext> = (arg: T) => Promise<void> | void;

interface Route<T> {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler<T>;
}

/**
 * Tiny router: `/gmail/v1/users/:userId/messages/:id` templates (segments decoded) or RegExps with named groups.
 * The emulators parse their own odd URL shapes (Graph's `messages('id')`) before routing.
 */
export class Router<T = RequestContext> {
  private readonly routes: Route<T>[] = [];

  add(method: string, path: string | RegExp, handler: Handler<T>): this {
    if (path instanceof RegExp) {
      this.routes.push({ method, pattern: path, keys: [], handler });
      return this;
    }
    const keys: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        if (segment.startsWith(':')) {
          keys.push(segment.slice(1));
          return '([^/]+)';
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method, pattern: new RegExp(`^${source}/?$`), keys, handler });
    return this;
  }

  /** Finds the route for a path (allows callers to route a rewritten path). */
  match(
    method: string,
    path: string,
  ): { handler: Handler<T>; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method && route.method !== '*') continue;
      const params: Record<string, string> = { ...(m.groups ?? {}) };
      route.keys.forEach((key, i) => (params[key] = safeDecode(m[i + 1])));
      return { handler: route.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface StartedServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface ServerOptions {
  host: string;
  port: number;
  /** Host name put in the advertised URL (the listening address when absent). */
  publicHost?: string;
  tls?: { key: string; cert: string };
  handler: (ctx: RequestContext) => Promise<void>;
  onError: (ctx: RequestContext, error: unknown) => void;
}

/** Starts a node:http(s) server and tracks its sockets so `close()` does not wait for keep-alive clients. */
export async function startServer(options: ServerOptions): Promise<StartedServer> {
  const sockets = new Set<Socket>();
  let baseUrl = '';
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const ctx = new RequestContext(req, res, baseUrl);
    options.handler(ctx).then(
      () => {
        if (!ctx.responded) ctx.send(500, 'handler did not respond');
      },
      (error: unknown) => {
        try {
          options.onError(ctx, error);
        } catch {
          ctx.send(500, 'internal error');
        }
      },
    );
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : http.createServer(listener);
  server.keepAliveTimeout = 5_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  if (options.tls) {
    server.on('secureConnection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls ? 'https' : 'http';
  baseUrl = `${scheme}://${options.publicHost ?? options.host}:${port}`;
  return {
    url: baseUrl,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
      }),
  };
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

export interface CapturedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A request that never touched a socket: one call inside a batch (Gmail `multipart/mixed`, Graph `$batch`). The
 * handlers see an ordinary {@link RequestContext}; what they send is captured instead of written.
 */
export function virtualExchange(input: {
  method: string;
  url: string;
  baseUrl: string;
  headers: Record<string, string>;
  body?: Buffer;
}): { ctx: RequestContext; done: Promise<CapturedResponse> } {
  const req = Readable.from(input.body && input.body.length > 0 ? [input.body] : []) as Readable & {
    url: string;
    method: string;
    headers: Record<string, string>;
  };
  req.url = input.url;
  req.method = input.method;
  req.headers = Object.fromEntries(Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const headers: Record<string, string> = {};
  const closeListeners: Array<() => void> = [];
  let resolve!: (r: CapturedResponse) => void;
  const done = new Promise<CapturedResponse>((r) => (resolve = r));
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      return res;
    },
    getHeader(name: string) {
      return headers[name.toLowerCase()];
    },
    once(event: string, listener: () => void) {
      if (event === 'close') closeListeners.push(listener);
      return res;
    },
    on(event: string, listener: () => void) {
      return res.once(event, listener);
    },
    writeHead(status: number, extra: Headers = {}) {
      for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
      (res as { statusCode?: number }).statusCode = status;
      return res;
    },
    end(payload?: Buffer) {
      resolve({
        status: (res as { statusCode?: number }).statusCode ?? 200,
        headers,
        body: payload ?? Buffer.alloc(0),
      });
      for (const l of closeListeners.splice(0)) l();
      return res;
    },
  };
  const ctx = new RequestContext(
    req as unknown as http.IncomingMessage,
    res as unknown as http.ServerResponse,
    input.baseUrl,
  );
  return { ctx, done };
}
