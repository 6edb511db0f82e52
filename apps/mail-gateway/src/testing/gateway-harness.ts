import { randomBytes, randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { Client } from 'pg';
import {
  Topics,
  connectionConnectedV1,
  eventCatalog,
  mailboxNotificationReceivedV1,
  type ConnectionSnapshot,
  type EventEnvelope,
  type SendAsAnswer,
} from '@mailbridge/contracts';
import { KafkaEventBus } from '@mailbridge/platform-messaging';
import { createLogger } from '@mailbridge/platform-observability';
import { startService, type RunningService } from '@mailbridge/platform-runtime';
import {
  startSandboxProviders,
  type SandboxProviders,
  type SandboxProvidersOptions,
} from '@mailbridge/sandbox-providers';
import {
  createTestDatabase,
  expectEventually,
  freePort,
  startKafkaMockCluster,
  type KafkaMockCluster,
  type TestDatabase,
} from '@mailbridge/testing';
import { EventLog } from '@mailbridge/testing-services';
import { mailGatewayService } from '../service';

/** Everything mail-gateway publishes, recorded as another service would see it. */
export const GATEWAY_OUTPUT_TOPICS = [
  Topics.mailObserved,
  Topics.mailMailboxes,
  Topics.mailDelivery,
  Topics.mailNotifications,
  Topics.mailStates,
];

/**
 * identity-connections' internal token route, played by the test: hands out access tokens obtained from the
 * sandbox OAuth emulators for the connections it knows, or the error statuses identity would answer.
 */
export class IdentityStub {
  readonly connections = new Map<string, { address: string; provider: 'google' | 'microsoft' }>();
  /** Connections whose grant is dead (409 reauth_required). */
  readonly reauthRequired = new Set<string>();
  /** Disconnected or replaced connections (410 connection_ended). */
  readonly ended = new Set<string>();
  /**
   * SND-7: what identity-connections answers for `GET /internal/connections/{id}/send-as` (its own tests prove it
   * reads these from the provider); default: the mailbox address alone, signature off.
   */
  readonly sendAs = new Map<string, Omit<SendAsAnswer, 'mailboxAddress'>>();
  /** Calls of the send-as route, by connection id. */
  readonly sendAsCalls: string[] = [];
  /** When set, the send-as route answers 503 (identity-connections restarting). */
  sendAsDown = false;
  readonly calls: Array<{ connectionId: string; forceRefresh: boolean }> = [];
  private readonly cache = new Map<string, { accessToken: string; expiresAt: string }>();
  private server?: http.Server;
  url = '';

  constructor(
    private readonly sandbox: SandboxProviders,
    private readonly internalToken: string,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const sendAs = /^\/internal\/connections\/([^/]+)\/send-as$/.exec(req.url ?? '');
    if (req.method === 'GET' && sendAs) {
      if (req.headers.authorization !== `Bearer ${this.internalToken}`) {
        return send(401, { error: { code: 'invalid_service_credential' } });
      }
      const id = decodeURIComponent(sendAs[1]);
      this.sendAsCalls.push(id);
      if (this.sendAsDown) return send(503, { error: { code: 'unavailable' } });
      const connection = this.connections.get(id);
      if (!connection) return send(404, { error: { code: 'connection_not_found' } });
      const profile = this.sendAs.get(id) ?? {
        addresses: [{ address: connection.address, displayName: null, primary: true, signature: null }],
        appendSignature: false,
        signature: null,
      };
      const answer: SendAsAnswer = { mailboxAddress: connection.address, ...profile };
      return send(200, answer);
    }
    const match = /^\/internal\/connections\/([^/]+)\/access-token$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return send(404, { error: { code: 'not_found' } });
    if (req.headers.authorization !== `Bearer ${this.internalToken}`) {
      return send(401, { error: { code: 'invalid_service_credential' } });
    }
    const connectionId = decodeURIComponent(match[1]);
    const forceRefresh =
      (JSON.parse(Buffer.concat(chunks).toString() || '{}') as { forceRefresh?: boolean }).forceRefresh ===
      true;
    this.calls.push({ connectionId, forceRefresh });
    const connection = this.connections.get(connectionId);
    if (!connection) return send(404, { error: { code: 'connection_not_found' } });
    if (this.ended.has(connectionId)) return send(410, { error: { code: 'connection_ended' } });
    if (this.reauthRequired.has(connectionId)) return send(409, { error: { code: 'reauth_required' } });
    let token = this.cache.get(connectionId);
    if (!token || forceRefresh) {
      const issued = this.sandbox.control.issueTokens(connection.address) as {
        access_token: string;
        expires_in: number;
      };
      token = {
        accessToken: issued.access_token,
        expiresAt: new Date(Date.now() + issued.expires_in * 1000).toISOString(),
      };
      this.cache.set(connectionId, token);
    }
    send(200, { connectionId, provider: connection.provider, emailAddress: connection.address, ...token });
  }
}

export interface GatewayHarness {
  readonly kafka: KafkaMockCluster;
  readonly db: TestDatabase;
  readonly sandbox: SandboxProviders;
  readonly identity: IdentityStub;
  readonly log: EventLog;
  readonly internalApiToken: string;
  /** The gateway's object store folder (attachments of sends are put here). */
  readonly objectDir: string;
  gateway: RunningService;
  /** Publishes events as their producing service would (identity-connections, sync-engine). */
  publish(...events: EventEnvelope[]): Promise<void>;
  /** A connection of this sandbox mailbox becomes active; resolves once mail-gateway watches the mailbox. */
  connect(
    address: string,
    provider: 'google' | 'microsoft',
    locationId?: string,
  ): Promise<ConnectionSnapshot>;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  mailbox(address: string, provider: 'google' | 'microsoft'): Promise<Record<string, unknown> | undefined>;
  /** Resolves once the mailbox is watching with no pull running or asked for: the next pull is the only one. */
  waitIdle(mailboxId: string): Promise<void>;
  /** Resolves once the gateway consumed every hand-off published so far (its inbox holds their ids). */
  handOffsConsumed(): Promise<void>;
  /** Stops the gateway (as a crash or a deploy would) and starts a fresh one on the same database and bus. */
  restartGateway(): Promise<void>;
  close(): Promise<void>;
}

const trusted = new Set<string>();
/** What the runtime does with EXTRA_CA_CERTS_FILE at process start: trust the emulators' CA (Graph is https). */
function trustCa(pem: string): void {
  if (trusted.has(pem)) return;
  trusted.add(pem);
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem]);
}

function kafkaBus(brokers: string[], clientId: string): KafkaEventBus {
  return new KafkaEventBus({
    brokers,
    clientId,
    catalog: eventCatalog,
    logger: createLogger({ service: clientId, level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    // The mock cluster cannot hand out producer ids; production keeps idempotence on.
    idempotent: false,
    retry: { maxAttempts: 8, initialDelayMs: 100, maxDelayMs: 1_000 },
    topicReadyTimeoutMs: 10_000,
    consumer: {
      sessionTimeoutMs: 3_000,
      heartbeatIntervalMs: 200,
      rebalanceTimeoutMs: 3_000,
      maxWaitTimeMs: 100,
      partitionsConsumedConcurrently: 4,
      joinTimeoutMs: 30_000,
    },
  });
}

/**
 * Jest-free (the benchmark uses it too). mail-gateway as it runs in production, in this process: a real Nest app on a fixed port (its PUBLIC_URL must be
 * known before it starts: Graph subscriptions carry it), PostgreSQL, Kafka (mock cluster), the sandbox providers,
 * and identity-connections' token route played by {@link IdentityStub}.
 */
export async function startGatewayHarness(
  options: { env?: Record<string, string>; sandbox?: SandboxProvidersOptions } = {},
): Promise<GatewayHarness> {
  const [kafka, db, sandbox] = await Promise.all([
    startKafkaMockCluster(),
    createTestDatabase('mb_gateway'),
    startSandboxProviders({
      ...options.sandbox,
      google: {
        pushMinIntervalMs: 0,
        pushRetry: { minBackoffMs: 200, maxBackoffMs: 1_000 },
        ...options.sandbox?.google,
      },
      microsoft: {
        notificationRetry: { minBackoffMs: 200, maxBackoffMs: 1_000 },
        ...options.sandbox?.microsoft,
      },
    }),
  ]);
  trustCa(sandbox.caCertPem);
  const internalApiToken = randomBytes(32).toString('hex');
  const identity = new IdentityStub(sandbox, internalApiToken);
  await identity.start();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  sandbox.control.setPushEndpoint({ pushEndpoint: `${publicUrl}/v1/webhooks/gmail` });
  const objectDir = `/tmp/mb-gateway-objects-${randomUUID()}`;
  const env: Record<string, string> = {
    ...sandbox.platformEnv(),
    PUBLIC_URL: publicUrl,
    IDENTITY_CONNECTIONS_URL: identity.url,
    OBJECT_STORE_DIR: objectDir,
    SCHEDULER_TICK_MS: '200',
    SAFETY_NET_POLL_SECONDS: '3600',
    PROVIDER_MAX_INLINE_WAIT_MS: '2000',
    ...options.env,
  };
  const producer = kafkaBus(kafka.bootstrapServers, 'test-producer');
  const observer = kafkaBus(kafka.bootstrapServers, 'test-observer');
  const log = new EventLog();
  const subscription = await observer.subscribe({
    groupId: 'test.observer',
    topics: GATEWAY_OUTPUT_TOPICS,
    handler: async (event) => {
      log.events.push(event);
    },
  });

  let gatewayBus = kafkaBus(kafka.bootstrapServers, 'mail-gateway');
  const startGateway = () =>
    startService(mailGatewayService, {
      name: 'mail-gateway',
      port,
      host: '127.0.0.1',
      databaseUrl: db.url,
      runMigrations: true,
      bus: gatewayBus,
      logger: createLogger({ service: 'mail-gateway', level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
      auth: { jwtSecret: randomBytes(32).toString('hex') },
      internalApiToken,
      env,
    });

  const query = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const client = new Client(db.url);
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };

  const harness: GatewayHarness = {
    kafka,
    db,
    sandbox,
    identity,
    log,
    internalApiToken,
    objectDir,
    gateway: await startGateway(),
    publish: (...events) =>
      producer.publish(
        events.map((envelope) => ({
          topic: eventCatalog.find(envelope.type, envelope.version)!.topic,
          envelope,
        })),
      ),
    query,
    mailbox: async (address, provider) =>
      (
        await query<Record<string, unknown>>(`SELECT * FROM mail_gateway.mailboxes WHERE mailbox_key = $1`, [
          `${provider}:${address.toLowerCase()}`,
        ])
      )[0],
    waitIdle: (mailboxId) =>
      expectEventually(
        async () => {
          const rows = await query(
            `SELECT 1 FROM mail_gateway.mailboxes m WHERE m.id = $1 AND m.stage = 'watching'
                AND m.pull_requested_at IS NULL
                AND NOT EXISTS (SELECT 1 FROM mail_gateway.leases l WHERE l.name = 'mailbox:' || m.id::text)`,
            [mailboxId],
          );
          assert.equal(rows.length, 1);
        },
        { timeoutMs: 30_000 },
      ),
    handOffsConsumed: async () => {
      const ids = log.events
        .filter((e) => eventCatalog.is(e, mailboxNotificationReceivedV1))
        .map((e) => e.id);
      await expectEventually(async () => {
        const rows = await query(
          `SELECT event_id FROM mail_gateway.inbox WHERE consumer = 'notifications' AND event_id = ANY($1::uuid[])`,
          [ids],
        );
        assert.equal(rows.length, ids.length);
      });
    },
    async connect(address, provider, locationId = 'loc_1') {
      const connection: ConnectionSnapshot = {
        connectionId: randomUUID(),
        locationId,
        userId: `usr_${randomBytes(3).toString('hex')}`,
        provider,
        emailAddress: address,
        mailboxKey: `${provider}:${address.toLowerCase()}`,
        syncScope: provider === 'google' ? 'contact_mail' : 'crm_threads',
        status: 'active',
        connectedAt: new Date().toISOString(),
      };
      identity.connections.set(connection.connectionId, { address, provider });
      await harness.publish(eventCatalog.create(connectionConnectedV1, { connection }));
      await expectEventually(
        async () => {
          const mailbox = await harness.mailbox(address, provider);
          assert.equal(mailbox?.stage, 'watching');
          if (provider === 'microsoft') {
            // The baseline round (CON-6) has run: both folders hold a delta link.
            const folders = await query<{ link: string | null; import_after: Date | null }>(
              `SELECT link, import_after FROM mail_gateway.graph_folders WHERE mailbox_id = $1`,
              [mailbox?.id],
            );
            assert.equal(folders.length, 2);
            for (const f of folders) assert.equal(f.import_after, null);
          }
        },
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      return connection;
    },
    async restartGateway() {
      await harness.gateway.close();
      await gatewayBus.close();
      gatewayBus = kafkaBus(kafka.bootstrapServers, 'mail-gateway');
      harness.gateway = await startGateway();
    },
    async close() {
      await harness.gateway?.close().catch(() => undefined);
      await gatewayBus.close().catch(() => undefined);
      await subscription.stop().catch(() => undefined);
      await observer.close().catch(() => undefined);
      await producer.close().catch(() => undefined);
      await identity.close();
      await sandbox.close();
      await db.drop();
      await kafka.stop();
      await fs.rm(objectDir, { recursive: true, force: true });
    },
  };
  return harness;
}
