import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { buildApp, spawnNode, SpawnedProcess } from '@mailbridge/testing';

/**
 * Hostile HTTP input (issue 14): NUL anywhere, broken percent-encoding, bytes that are not UTF-8 (path, header,
 * body), JSON nested 100,000 deep, numbers no field holds — a 400 in the standard error shape on every route of
 * every service, never a 500. Against the real services as `npm start` runs them; requests are written byte by byte
 * (no client library would send most of them).
 */

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

function rawRequest(
  baseUrl: string,
  method: string,
  target: Buffer | string,
  headers: ReadonlyArray<[string, Buffer | string]>,
  body?: Buffer | string,
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(body);
  const head: Buffer[] = [
    Buffer.from(`${method} `),
    Buffer.from(target),
    Buffer.from(` HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n`),
    ...headers.flatMap(([name, value]) => [
      Buffer.from(`${name}: `),
      Buffer.from(value),
      Buffer.from('\r\n'),
    ]),
    Buffer.from(payload ? `Content-Length: ${payload.length}\r\n\r\n` : '\r\n'),
  ];
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const responseHeaders = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      let responseBody = text.slice(split + 4);
      if (responseHeaders['transfer-encoding'] === 'chunked') {
        let decoded = '';
        let rest = responseBody;
        for (;;) {
          const eol = rest.indexOf('\r\n');
          const size = parseInt(rest.slice(0, eol), 16);
          if (!size) break;
          decoded += rest.slice(eol + 2, eol + 2 + size);
          rest = rest.slice(eol + 2 + size + 2);
        }
        responseBody = decoded;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: responseHeaders, body: responseBody });
    });
    socket.write(Buffer.concat([...head, ...(payload ? [payload] : [])]));
  });
}

type Service = 'conversations' | 'identity-connections' | 'mail-gateway' | 'sync-engine';
type Auth = 'crm' | 'internal' | 'none';

interface Route {
  readonly family: string;
  readonly service: Service;
  readonly method: string;
  /** `{id}` marks the path parameter probed with hostile values; `{q}` the query parameter. */
  readonly path: string;
  readonly auth: Auth;
  /** A body the route would accept, whose `{text}` string field is probed; routes without a body have none. */
  readonly body?: (text: string) => unknown;
}

const L = '/v1/locations/loc_demo';
const U = `${L}/users/usr_demo`;
const SEND = (text: string) => ({
  kind: 'individual',
  userId: 'usr_demo',
  subject: text,
  text,
  to: [{ address: 'jane@example.com', name: text }],
});

const ROUTES: readonly Route[] = [
  {
    family: 'contacts',
    service: 'conversations',
    method: 'PUT',
    path: `${L}/contacts/{id}?{q}`,
    auth: 'crm',
    body: (t) => ({ email: 'jane@example.com', name: t }),
  },
  {
    family: 'contacts',
    service: 'conversations',
    method: 'GET',
    path: `${L}/contacts/{id}?{q}`,
    auth: 'crm',
  },
  {
    family: 'contacts',
    service: 'conversations',
    method: 'DELETE',
    path: `${L}/contacts/{id}?{q}`,
    auth: 'crm',
  },
  {
    family: 'contacts',
    service: 'conversations',
    method: 'GET',
    path: `${L}/contacts?email={q}`,
    auth: 'crm',
  },
  {
    family: 'send',
    service: 'conversations',
    method: 'POST',
    path: `${L}/contacts/{id}/emails?{q}`,
    auth: 'crm',
    body: SEND,
  },
  {
    family: 'uploads',
    service: 'conversations',
    method: 'POST',
    path: `${L}/uploads?{q}`,
    auth: 'crm',
    body: (t) => ({ file: t }),
  },
  {
    family: 'conversations',
    service: 'conversations',
    method: 'GET',
    path: `${L}/conversations?cursor={q}`,
    auth: 'crm',
  },
  {
    family: 'messages',
    service: 'conversations',
    method: 'GET',
    path: `${L}/conversations/{id}/messages?cursor={q}`,
    auth: 'crm',
  },
  {
    family: 'messages',
    service: 'conversations',
    method: 'GET',
    path: `${L}/messages/{id}?{q}`,
    auth: 'crm',
  },
  {
    family: 'messages',
    service: 'conversations',
    method: 'GET',
    path: `${L}/attachments/{id}?{q}`,
    auth: 'crm',
  },
  {
    family: 'sync-events',
    service: 'conversations',
    method: 'GET',
    path: `${L}/sync-events?cursor={q}`,
    auth: 'crm',
  },
  {
    family: 'connections',
    service: 'identity-connections',
    method: 'GET',
    path: `${U}/email-connection?{q}`,
    auth: 'crm',
  },
  {
    family: 'connections',
    service: 'identity-connections',
    method: 'PATCH',
    path: `${U}/email-connection?{q}`,
    auth: 'crm',
    body: (t) => ({ smartBcc: t }),
  },
  {
    family: 'connections',
    service: 'identity-connections',
    method: 'DELETE',
    path: `${U}/email-connection?{q}`,
    auth: 'crm',
  },
  {
    family: 'connections',
    service: 'identity-connections',
    method: 'POST',
    path: `${U}/email-connection/{id}/authorize?{q}`,
    auth: 'crm',
    body: (t) => ({ returnUrl: t }),
  },
  {
    family: 'connections',
    service: 'identity-connections',
    method: 'GET',
    path: `${U}/smart-bcc?{q}`,
    auth: 'crm',
  },
  {
    family: 'oauth callbacks',
    service: 'identity-connections',
    method: 'GET',
    path: '/v1/oauth/{id}/callback?code=x&state={q}',
    auth: 'none',
  },
  {
    family: 'oauth callbacks',
    service: 'identity-connections',
    method: 'GET',
    path: '/v1/oauth/result?status=error&reason={q}',
    auth: 'none',
  },
  {
    family: 'internal',
    service: 'identity-connections',
    method: 'POST',
    path: '/internal/connections/{id}/access-token?{q}',
    auth: 'internal',
    body: (t) => ({ reason: t }),
  },
  {
    family: 'internal',
    service: 'identity-connections',
    method: 'GET',
    path: '/internal/connections?locationId={q}&userId=usr_demo',
    auth: 'internal',
  },
  {
    family: 'internal',
    service: 'identity-connections',
    method: 'GET',
    path: '/internal/smart-bcc/{id}?{q}',
    auth: 'internal',
  },
  {
    family: 'internal',
    service: 'sync-engine',
    method: 'GET',
    path: '/internal/contacts?locationId=loc_demo&email={q}',
    auth: 'internal',
  },
  {
    family: 'webhooks',
    service: 'mail-gateway',
    method: 'POST',
    path: '/v1/webhooks/gmail?{q}',
    auth: 'none',
    body: (t) => ({ message: { data: t, messageId: t }, subscription: t }),
  },
  {
    family: 'webhooks',
    service: 'mail-gateway',
    method: 'POST',
    path: '/v1/webhooks/microsoft?validationToken={q}',
    auth: 'none',
    body: (t) => ({ value: [{ clientState: t, subscriptionId: t }] }),
  },
  {
    family: 'webhooks',
    service: 'mail-gateway',
    method: 'POST',
    path: '/v1/webhooks/microsoft/lifecycle?validationToken={q}',
    auth: 'none',
    body: (t) => ({ value: [{ lifecycleEvent: t }] }),
  },
];

interface Probe {
  readonly name: string;
  readonly applies: (route: Route) => boolean;
  readonly id?: string;
  readonly query?: string;
  /** Raw bytes of the whole request target, when the probe replaces it. */
  readonly target?: (route: Route) => Buffer;
  readonly header?: [string, Buffer];
  readonly body?: (route: Route) => Buffer;
}

const fill = (route: Route, id: string, query: string) =>
  route.path.replace('{id}', id).replace('{q}', route.path.includes('={q}') ? query : `x=${query}`);
const hasId = (r: Route) => r.path.includes('{id}');
const hasBody = (r: Route) => r.body !== undefined;
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

const PROBES: readonly Probe[] = [
  { name: 'NUL in a path id (%00)', applies: hasId, id: 'ab%00cd' },
  { name: 'NUL in the query (?…=%00)', applies: () => true, query: 'a%00b' },
  { name: 'malformed percent-encoding in the path', applies: hasId, id: 'ab%E0%A4%A' },
  { name: 'malformed percent-encoding in the query', applies: () => true, query: '%zz%' },
  { name: 'percent-encoded bytes that are not UTF-8 (%C3%28)', applies: hasId, id: 'ab%C3%28' },
  {
    name: 'raw bytes that are not UTF-8 in the path',
    applies: () => true,
    target: (r) => Buffer.concat([Buffer.from(fill(r, 'ab', 'cd').split('?')[0]), Buffer.from([0xff, 0xfe])]),
  },
  {
    name: 'a header that is not UTF-8',
    applies: () => true,
    header: ['X-Note', Buffer.from([0x61, 0xff, 0xfe])],
  },
  { name: 'NUL in a header', applies: () => true, header: ['X-Note', Buffer.from([0x61, 0x00, 0x62])] },
  { name: 'NUL in a JSON string field', applies: hasBody, body: (r) => json(r.body!('hello\u0000')) },
  {
    name: 'a lone surrogate in a JSON string field',
    applies: hasBody,
    body: (r) => Buffer.from(JSON.stringify(r.body!('x')).replace('"x"', '"\\ud800"')),
  },
  {
    name: 'JSON nested 100,000 deep (200 KB)',
    applies: hasBody,
    body: () => Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)),
  },
  {
    name: 'a huge number (1e400)',
    applies: hasBody,
    body: (r) => Buffer.from(JSON.stringify(r.body!('x')).replace('"x"', '1e400')),
  },
  {
    name: 'an integer past 2^53',
    applies: hasBody,
    body: (r) => Buffer.from(JSON.stringify(r.body!('x')).replace('"x"', '123456789012345678901234567890')),
  },
  {
    name: 'a JSON body that is not UTF-8',
    applies: hasBody,
    body: (r) => Buffer.from(JSON.stringify(r.body!('x')).replace('"x"', '"\u00e9"'), 'latin1'),
  },
];

describe('hostile HTTP input → 400 with the standard error, never 500 (issue 14), on every route of every service', () => {
  let dataDir: string;
  let proc: SpawnedProcess | undefined;
  let urls: Record<Service, string>;
  let credentials: Record<Auth, string | undefined>;

  beforeAll(async () => {
    const entry = await buildApp('apps/embedded');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-hostile-'));
    proc = spawnNode(entry, [], {
      MAILBRIDGE_DATA_DIR: dataDir,
      MAILBRIDGE_PORT_BASE: '0',
      LOG_LEVEL: 'warn',
    });
    await proc.waitFor(/Mint a CRM token/, 90_000);
    urls = (
      JSON.parse(await fs.readFile(path.join(dataDir, 'embedded.json'), 'utf8')) as { urls: typeof urls }
    ).urls;
    const secrets = JSON.parse(await fs.readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as {
      authJwtSecret: string;
      internalApiToken: string;
    };
    credentials = {
      crm: jwt.sign({ loc: 'loc_demo' }, secrets.authJwtSecret, { subject: 'usr_demo', algorithm: 'HS256' }),
      internal: secrets.internalApiToken,
      none: undefined,
    };
  }, 150_000);
  afterAll(async () => {
    await proc?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  const cases = ROUTES.flatMap((route) =>
    PROBES.filter((p) => p.applies(route)).map(
      (probe) => [route.family, route.service, route.method, route.path, probe.name, route, probe] as const,
    ),
  );

  it.each(cases)('%s (%s): %s %s, %s', async (_family, service, method, _path, _probe, route, probe) => {
    const target = probe.target?.(route) ?? Buffer.from(fill(route, probe.id ?? 'ab', probe.query ?? 'cd'));
    const headers: Array<[string, Buffer | string]> = [];
    const secret = credentials[route.auth];
    if (secret) headers.push(['Authorization', `Bearer ${secret}`]);
    if (probe.header) headers.push(probe.header);
    const body = probe.body?.(route) ?? (route.body ? json(route.body('hello')) : undefined);
    if (body) headers.push(['Content-Type', 'application/json']);
    const res = await rawRequest(urls[service], method, target, headers, body);
    expect({ status: res.status, type: res.headers['content-type'] }).toEqual({
      status: 400,
      type: expect.stringContaining('application/json'),
    });
    expect(JSON.parse(res.body)).toEqual({
      error: expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
    });
  });

  it('uploads: a file name with NUL is a 400 invalid_filename, not a failed insert', async () => {
    const boundary = 'b0undary';
    const pdf = Buffer.from(
      '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n',
      'latin1',
    );
    const body = Buffer.concat([
      // RFC 5987 form: busboy decodes it to a name holding U+0000 (a raw NUL byte it refuses itself).
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''a%00b.pdf\r\n` +
          'Content-Type: application/pdf\r\n\r\n',
      ),
      pdf,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const res = await rawRequest(
      urls.conversations,
      'POST',
      `${L}/uploads`,
      [
        ['Authorization', `Bearer ${credentials.crm}`],
        ['Content-Type', `multipart/form-data; boundary=${boundary}`],
      ],
      body,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: expect.objectContaining({ code: 'invalid_filename' }) });
  });
});
