import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
  json?: unknown;
}

export type Responder = (req: ReceivedRequest) => {
  status: number;
  body?: string;
  contentType?: string;
  delayMs?: number;
};

/** A throw-away HTTP endpoint that records what the emulators POST to it (push, notifications, validations). */
export async function startWebhookReceiver(respond: Responder = () => ({ status: 204 })) {
  const requests: ReceivedRequest[] = [];
  let responder = respond;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      const received: ReceivedRequest = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', 'http://localhost'),
        headers: req.headers,
        body,
        json,
      };
      requests.push(received);
      const answer = responder(received);
      const send = () => {
        res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'text/plain' });
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    setResponder(next: Responder) {
      responder = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Graph-style endpoint behaviour: echo validation tokens, accept notifications with 202. */
export const graphWebhookResponder: Responder = (req) => {
  const token = req.url.searchParams.get('validationToken');
  if (token !== null) return { status: 200, body: token, contentType: 'text/plain' };
  return { status: 202 };
};

/** Retries an assertion until it passes (local twin of @mailbridge/testing's expectEventually, which depends on us). */
export async function eventually<T>(
  assertion: () => T | Promise<T>,
  // Generous: it returns as soon as the assertion holds; a loaded 2-core CI machine can need seconds.
  timeoutMs = 30_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
