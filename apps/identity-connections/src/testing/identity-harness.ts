import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import request from 'supertest';
import { Client } from 'pg';
import { EventEnvelope, Topics, eventCatalog } from '@mailbridge/contracts';
import { InProcessEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { RunningService, signCrmToken, startService } from '@mailbridge/platform-runtime';
import { SandboxProviders, startSandboxProviders } from '@mailbridge/sandbox-providers';
import { TestDatabase, createTestDatabase, freePort } from '@mailbridge/testing';
import { identityConnectionsService } from '../service';

export const GOOGLE_USER = 'sam@gmail.sandbox.mailbridge.test';
export const GOOGLE_OTHER = 'casey@gmail.sandbox.mailbridge.test';
export const MICROSOFT_USER = 'sam@outlook.sandbox.mailbridge.test';
export const MICROSOFT_OTHER = 'robin@outlook.sandbox.mailbridge.test';
export const RETURN_URL = 'http://localhost:3000/settings/email?tab=mail';

export const newKey = () => randomBytes(32).toString('base64');

/** A call to Google's token endpoint as the service made it (through the recording proxy). */
export interface TokenCall {
  readonly grantType: string;
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/**
 * A tiny forwarding proxy in front of the Google emulator's token endpoint: the test sees how many refresh calls
 * the service made and which tokens the provider issued (to look for them where they must never appear).
 */
async function startTokenProxy(
  target: string,
): Promise<{ url: string; calls: TokenCall[]; close(): Promise<void> }> {
  const calls: TokenCall[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      void (async () => {
        const upstream = await fetch(target, {
          method: req.method,
          headers: {
            'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded',
            ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          },
          body: req.method === 'POST' ? body : undefined,
        });
        const text = await upstream.text();
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON: recorded as empty
        }
        calls.push({
          grantType: new URLSearchParams(body.toString('utf8')).get('grant_type') ?? '',
          status: upstream.status,
          body: json,
        });
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
        });
        res.end(text);
      })().catch((err: Error) => {
        res.writeHead(502);
        res.end(err.message);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/token`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface Harness {
  readonly sandbox: SandboxProviders;
  readonly db: TestDatabase;
  readonly bus: InProcessEventBus;
  readonly env: Record<string, string>;
  readonly publicUrl: string;
  readonly internalApiToken: string;
  /** Every event the service published (identity.connections.v1). */
  readonly events: EventEnvelope[];
  /** Every log line the service wrote (debug level), as JSON text. */
  readonly logs: string[];
  /** Google token endpoint calls. */
  readonly googleTokenCalls: TokenCall[];
  svc: RunningService;
  http(): ReturnType<typeof request>;
  token(locationId: string, userId: string): string;
  /** Restarts the service on the same database, port and bus with changed settings. */
  restart(envOverrides?: Record<string, string | undefined>): Promise<void>;
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** The service as in production (real Nest app, real PostgreSQL, the sandbox providers), with a log sink. */
export async function startHarness(envOverrides: Record<string, string> = {}): Promise<Harness> {
  const sandbox = await startSandboxProviders({
    mailboxes: [
      { provider: 'google', address: GOOGLE_USER },
      { provider: 'google', address: GOOGLE_OTHER },
      { provider: 'microsoft', address: MICROSOFT_USER },
      { provider: 'microsoft', address: MICROSOFT_OTHER },
    ],
  });
  // What the runtime does with EXTRA_CA_CERTS_FILE at process start: trust the emulators' CA (MSAL, Graph).
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), sandbox.caCertPem]);
  const proxy = await startTokenProxy(sandbox.platformEnv().GOOGLE_OAUTH_TOKEN_URL);
  const db = await createTestDatabase('mb_identity');
  const bus = new InProcessEventBus({
    catalog: eventCatalog,
    logger: createLogger({ service: 'bus', level: 'silent' }),
  });
  const events: EventEnvelope[] = [];
  await bus.subscribe({
    groupId: 'test.recorder',
    topics: [Topics.identityConnections],
    handler: async (e) => void events.push(e),
  });
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const authSecret = randomBytes(32).toString('hex');
  const internalApiToken = randomBytes(32).toString('hex');
  const logs: string[] = [];
  const logger = createLogger({
    service: 'identity-connections',
    level: 'debug',
    destination: { write: (line: string) => void logs.push(line) },
  });
  let env: Record<string, string> = {
    ...sandbox.platformEnv(),
    GOOGLE_OAUTH_TOKEN_URL: proxy.url,
    PUBLIC_URL: publicUrl,
    TOKEN_ENCRYPTION_KEYS: `k1:${newKey()}`,
    ...envOverrides,
  };
  const start = (e: Record<string, string>) =>
    startService(identityConnectionsService, {
      name: 'identity-connections',
      port,
      host: '127.0.0.1',
      databaseUrl: db.url,
      runMigrations: true,
      bus,
      logger,
      auth: { jwtSecret: authSecret },
      internalApiToken,
      env: e,
    });
  const harness: Harness = {
    sandbox,
    db,
    bus,
    get env() {
      return env;
    },
    publicUrl,
    internalApiToken,
    events,
    logs,
    googleTokenCalls: proxy.calls,
    svc: await start(env),
    http: () => request(harness.svc.app.getHttpServer()),
    token: (locationId, userId) => signCrmToken(authSecret, { locationId, userId }),
    async restart(overrides = {}) {
      await harness.svc.close();
      const next: Record<string, string> = { ...env };
      for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete next[k];
        else next[k] = v;
      }
      env = next;
      harness.svc = await start(env);
    },
    async sql<T>(text: string, params: unknown[] = []) {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      try {
        return (await client.query(text, params)).rows as T[];
      } finally {
        await client.end();
      }
    },
    async close() {
      await harness.svc.close();
      await bus.close();
      await proxy.close();
      await sandbox.close();
      await db.drop();
    },
  };
  return harness;
}

export interface ConsentResult {
  /** Where the service finally sent the browser. */
  readonly returnedTo: URL;
  readonly authorizeUrl: URL;
  readonly callbackUrl: string;
}

/**
 * The whole browser dance: the CRM asks for the authorize URL, the "browser" follows it to the provider (which
 * consents as `mailbox`), then follows the provider's redirect to our callback, which redirects to the return URL.
 */
export async function connectMailbox(
  h: Harness,
  input: {
    provider: 'google' | 'microsoft';
    locationId: string;
    userId: string;
    mailbox: string;
    returnUrl?: string;
  },
): Promise<ConsentResult> {
  h.sandbox.control.setConsent(input.provider, { mode: 'approve', as: input.mailbox });
  const started = await h
    .http()
    .post(
      `/v1/locations/${input.locationId}/users/${input.userId}/email-connection/${input.provider}/authorize`,
    )
    .set('Authorization', `Bearer ${h.token(input.locationId, input.userId)}`)
    .send({ returnUrl: input.returnUrl ?? RETURN_URL });
  if (started.status !== 200)
    throw new Error(`authorize answered ${started.status}: ${JSON.stringify(started.body)}`);
  const authorizeUrl = new URL(started.body.authorizeUrl as string);
  const atProvider = await fetch(authorizeUrl, { redirect: 'manual' });
  if (atProvider.status !== 302) throw new Error(`provider answered ${atProvider.status}`);
  const callbackUrl = atProvider.headers.get('location') ?? '';
  return { returnedTo: await followCallback(callbackUrl), authorizeUrl, callbackUrl };
}

/** The browser arriving at our callback: returns where it was redirected. */
export async function followCallback(callbackUrl: string): Promise<URL> {
  const res = await fetch(callbackUrl, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`callback answered ${res.status}: ${await res.text()}`);
  return new URL(res.headers.get('location') ?? '');
}

/** Asks for a token the way mail-gateway does. */
export function accessToken(h: Harness, connectionId: string, forceRefresh?: boolean) {
  return h
    .http()
    .post(`/internal/connections/${connectionId}/access-token`)
    .set('Authorization', `Bearer ${h.internalApiToken}`)
    .send(forceRefresh === undefined ? {} : { forceRefresh });
}

/** Every row of every table of the service's schema, as JSON text (to look for secrets in clear). */
export async function dumpSchema(h: Harness): Promise<string> {
  const tables = await h.sql<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'identity_connections'`,
  );
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await h.sql<{ j: string }>(
      `SELECT row_to_json(t)::text AS j FROM identity_connections."${table_name}" t`,
    );
    parts.push(...rows.map((r) => r.j));
  }
  return parts.join('\n');
}

export const pick = (events: EventEnvelope[], type: string) => events.filter((e) => e.type === type);
