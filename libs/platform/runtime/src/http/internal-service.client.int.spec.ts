import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InternalServiceUnreachableError, callInternalService } from './internal-service.client';

describe('callInternalService (service-to-service HTTP)', () => {
  let server: Server;
  let baseUrl: string;
  const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        if (req.url === '/internal/json') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        } else if (req.url === '/internal/slow') {
          setTimeout(() => res.writeHead(200).end('{}'), 2_000);
        } else {
          res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the service token and a JSON body, and returns the status with the parsed JSON', async () => {
    const res = await callInternalService({
      baseUrl,
      path: '/internal/json',
      token: 'svc-token',
      timeoutMs: 1_000,
      method: 'POST',
      json: { forceRefresh: true },
    });
    expect(res).toEqual({ status: 200, body: { ok: true } });
    expect(seen.at(-1)).toEqual({
      method: 'POST',
      url: '/internal/json',
      auth: 'Bearer svc-token',
      body: '{"forceRefresh":true}',
    });
  });

  it('a body that is not JSON is undefined, with its status (a proxy error page)', async () => {
    expect(
      await callInternalService({ baseUrl, path: '/internal/html', token: 't', timeoutMs: 1_000 }),
    ).toEqual({
      status: 502,
      body: undefined,
    });
  });

  it('a closed port or an answer later than the timeout is InternalServiceUnreachableError', async () => {
    await expect(
      callInternalService({ baseUrl, path: '/internal/slow', token: 't', timeoutMs: 100 }),
    ).rejects.toBeInstanceOf(InternalServiceUnreachableError);
    await expect(
      callInternalService({
        baseUrl: 'http://127.0.0.1:1',
        path: '/internal/json',
        token: 't',
        timeoutMs: 1_000,
      }),
    ).rejects.toThrow(/127\.0\.0\.1:1 unreachable/);
  });
});
