import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import jwt from 'jsonwebtoken';
import {
  SAMPLE_MAILBOXES,
  SandboxProviders,
  SandboxProvidersOptions,
  startSandboxProviders,
} from '@mailbridge/sandbox-providers';
import {
  SpawnedProcess,
  buildApp,
  createTestDatabase,
  expectEventually,
  freePort,
  spawnNode,
  startKafkaMockCluster,
} from '@mailbridge/testing';
import { SmtpReceiver, startSmtpReceiver } from './smtp-receiver';

export const SERVICES = ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface Platform {
  readonly urls: Record<ServiceName, string>;
  readonly sandbox: SandboxProviders;
  /** The location's own sending service (SND-1..3): an SMTP relay every location-provider email reaches. */
  readonly locationProvider: SmtpReceiver;
  /** mail-gateway's Auto-BCC SMTP receiver (BCC-1), where mail clients deliver smart-BCC copies. */
  readonly smartBccSmtp: { host: string; port: number };
  readonly internalApiToken: string;
  /** The Kafka mock cluster's bootstrap servers (to read a topic with `kcat`, see topics.ts). */
  readonly kafkaBrokers: readonly string[];
  /** The platform's database and object store folder, for assertions on raw rows and stored bytes only. */
  readonly databaseUrl: string;
  readonly objectStoreDir: string;
  /** A CRM bearer token, as the CRM gateway would send it. */
  token(locationId: string, userId: string): string;
  /** kill -9 one service (no shutdown hook runs); with replicas, its first replica. */
  kill(name: ServiceName): Promise<void>;
  /** kill -9 one replica of a service (0-based; see PlatformOptions.replicas). */
  killReplica(name: ServiceName, replica: number): Promise<void>;
  /** Starts a killed or stopped service again, with the same settings, and waits until it is ready. */
  restart(name: ServiceName): Promise<void>;
  /** Everything the service wrote to stdout and stderr, across restarts. */
  logs(name: ServiceName): string;
  stop(): Promise<void>;
}

export interface PlatformOptions {
  /** Extra environment for every service (e.g. a small sending cap); the only way tests configure the services. */
  env?: Record<string, string>;
  /** Emulator settings (e.g. faster Pub/Sub / Graph notification retries for the kill tests). */
  sandbox?: Pick<SandboxProvidersOptions, 'google' | 'microsoft'>;
  /** Written into the log directory name when E2E_LOG_DIR is set. */
  label?: string;
  /**
   * Processes per service (default 1), in the same consumer groups, behind one round-robin TCP proxy per service
   * that skips replicas that do not answer (what a Kubernetes Service does): the service's URL is the proxy's.
   */
  replicas?: number;
}

/** A TCP proxy on `port` to the first of `targets` (tried in turn, round-robin) that accepts the connection. */
function startProxy(port: number, targets: readonly number[]): Promise<net.Server> {
  let next = 0;
  const server = net.createServer((client) => {
    client.pause();
    client.on('error', () => undefined);
    const attempt = (tried: number) => {
      if (tried >= targets.length) return client.destroy();
      const upstream = net.connect(targets[next++ % targets.length], '127.0.0.1');
      let connected = false;
      upstream.on('error', () => (connected ? client.destroy() : attempt(tried + 1)));
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream).on('error', () => undefined);
        upstream.pipe(client);
        client.on('close', () => upstream.destroy());
        client.resume();
      });
    };
    attempt(0);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * The platform as in production, on one machine: each service its own process built by `tools/build.mjs` (as the
 * Dockerfile does), Kafka (librdkafka's mock cluster), PostgreSQL (a fresh database), the provider emulators and an
 * SMTP relay as the location provider. Tests drive it only through public surfaces: the CRM HTTP API, the emulators'
 * control API, SMTP (and internal routes, with the service credential, for inspection only).
 *
 * `E2E_LOG_LEVEL=debug` raises the services' log level; `E2E_LOG_DIR=<dir>` keeps each service's log there.
 */
export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const [entries, kafka, db, workDir, locationProvider] = await Promise.all([
    Promise.all(SERVICES.map((s) => buildApp(`apps/${s}`))),
    startKafkaMockCluster(),
    createTestDatabase('mb_e2e'),
    fs.mkdtemp(path.join(os.tmpdir(), 'mb-e2e-')),
    startSmtpReceiver(),
  ]);
  const ports = await Promise.all(SERVICES.map(() => freePort()));
  const replicas = options.replicas ?? 1;
  // With replicas, each has a port of its own (and mail-gateway's an Auto-BCC port of its own) behind the proxy.
  const replicaPorts = await Promise.all(
    SERVICES.map(async (_, i) =>
      replicas > 1 ? Promise.all(Array.from({ length: replicas }, () => freePort())) : [ports[i]],
    ),
  );
  const replicaSmtpPorts = await Promise.all(Array.from({ length: replicas - 1 }, () => freePort()));
  const proxies =
    replicas > 1 ? await Promise.all(SERVICES.map((_, i) => startProxy(ports[i], replicaPorts[i]))) : [];
  // A port of its own, so two platforms (two e2e files on two jest workers) never compete for the default 2525.
  const smartBccSmtpPort = await freePort();
  const urls = Object.fromEntries(SERVICES.map((s, i) => [s, `http://127.0.0.1:${ports[i]}`])) as Record<
    ServiceName,
    string
  >;
  const sandbox = await startSandboxProviders({
    mailboxes: SAMPLE_MAILBOXES,
    google: { ...options.sandbox?.google, pushEndpoint: `${urls['mail-gateway']}/v1/webhooks/gmail` },
    ...(options.sandbox?.microsoft ? { microsoft: options.sandbox.microsoft } : {}),
  });
  // The test process plays the user's browser on the Microsoft consent screen (https, the emulators' own CA).
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), sandbox.caCertPem]);
  const authSecret = randomBytes(32).toString('hex');
  const internalApiToken = randomBytes(32).toString('hex');
  const common: Record<string, string> = {
    KAFKA_BROKERS: kafka.bootstrapServers.join(','),
    DATABASE_URL: db.url,
    AUTH_JWT_SECRET: authSecret,
    INTERNAL_API_TOKEN: internalApiToken,
    TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    OBJECT_STORE_DIR: path.join(workDir, 'objects'),
    DATA_DIR: workDir,
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    LOCATION_PROVIDER_SMTP_URL: locationProvider.url,
    SMTP_PORT: String(smartBccSmtpPort),
    // The tests poll the CRM API far faster than a person would; the limiter is proven in conversations' own tests.
    RATE_LIMIT_PER_MINUTE: '0',
    ...Object.fromEntries(SERVICES.map((s) => [`${s.toUpperCase().replace(/-/g, '_')}_URL`, urls[s]])),
    ...sandbox.platformEnv(),
    ...options.env,
  };
  const envOf = (s: ServiceName, i: number, replica = 0) => ({
    ...common,
    PORT: String(replicaPorts[i][replica]),
    HOST: '127.0.0.1',
    PUBLIC_URL: urls[s],
    ...(replica > 0 ? { SMTP_PORT: String(replicaSmtpPorts[replica - 1]) } : {}),
  });
  // Keyed by service for the first replica, `service#n` for the others.
  const keyOf = (s: ServiceName, replica: number) => (replica === 0 ? s : `${s}#${replica}`);
  const procs = new Map<string, SpawnedProcess>();
  const logs = new Map<string, string>();

  const ready = async (s: ServiceName, replica = 0) =>
    expectEventually(
      async () => {
        const proc = procs.get(keyOf(s, replica))!;
        if (proc.child.exitCode !== null) throw new Error(`${s} exited:\n${proc.stderr()}\n${proc.stdout()}`);
        const port = replicaPorts[SERVICES.indexOf(s)][replica];
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
        expect(res?.status).toBe(200);
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
  const launch = async (s: ServiceName, replica = 0) => {
    const i = SERVICES.indexOf(s);
    const proc = spawnNode(entries[i], [], envOf(s, i, replica));
    procs.set(keyOf(s, replica), proc);
    await ready(s, replica);
  };
  const remember = (key: string) => {
    const proc = procs.get(key);
    if (proc) logs.set(key, (logs.get(key) ?? '') + proc.stdout() + proc.stderr());
    procs.delete(key);
  };
  const logsOf = (s: ServiceName) =>
    Array.from({ length: replicas }, (_, r) => keyOf(s, r))
      .map(
        (key) => (logs.get(key) ?? '') + (procs.get(key)?.stdout() ?? '') + (procs.get(key)?.stderr() ?? ''),
      )
      .join('');
  const killOne = async (key: string) => {
    const proc = procs.get(key);
    if (!proc) throw new Error(`${key} is not running`);
    proc.child.kill('SIGKILL');
    await proc.exited;
    remember(key);
  };
  const closeProxies = () =>
    Promise.all(proxies.map((p) => new Promise<void>((resolve) => p.close(() => resolve()))));

  try {
    // First replicas first: they run the migrations; the others join their consumer groups after.
    for (const s of SERVICES) await launch(s);
    for (let replica = 1; replica < replicas; replica++) for (const s of SERVICES) await launch(s, replica);
  } catch (error) {
    await Promise.all([...procs.values()].map((p) => p.stop(2_000)));
    await closeProxies();
    await Promise.all([sandbox.close(), kafka.stop(), db.drop(), locationProvider.close()]);
    throw error;
  }

  return {
    urls,
    sandbox,
    locationProvider,
    smartBccSmtp: { host: '127.0.0.1', port: smartBccSmtpPort },
    internalApiToken,
    kafkaBrokers: kafka.bootstrapServers,
    databaseUrl: db.url,
    objectStoreDir: path.join(workDir, 'objects'),
    token: (locationId, userId) =>
      jwt.sign({ loc: locationId }, authSecret, { subject: userId, algorithm: 'HS256', expiresIn: 3600 }),
    kill: (s) => killOne(s),
    killReplica: (s, replica) => killOne(keyOf(s, replica)),
    async restart(s) {
      if (procs.has(s)) throw new Error(`${s} is still running`);
      await launch(s);
    },
    logs: logsOf,
    async stop() {
      await Promise.all([...procs.values()].map((p) => p.stop(10_000)));
      await closeProxies();
      if (process.env.E2E_LOG_DIR) {
        const dir = path.join(process.env.E2E_LOG_DIR, `${options.label ?? 'e2e'}-${Date.now()}`);
        await fs.mkdir(dir, { recursive: true });
        await Promise.all(SERVICES.map((s) => fs.writeFile(path.join(dir, `${s}.log`), logsOf(s))));
      }
      await sandbox.close();
      await locationProvider.close();
      await kafka.stop();
      await db.drop();
      await fs.rm(workDir, { recursive: true, force: true });
    },
  };
}

/** JSON fetch against a service with a bearer token; returns status and body. */
export async function api<T = unknown>(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...init.headers,
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  const text = await res.text();
  let body: unknown = undefined;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, body: body as T, headers: res.headers };
}
