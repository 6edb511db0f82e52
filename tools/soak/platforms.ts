// The sandbox providers in a process of their own (their mailboxes survive every kill of the platform) and the two
// ways to run the platform against them: embedded (one process, PGlite, in-process bus) and distributed (the four
// services as separate processes on the Kafka mock cluster and PostgreSQL).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { createTestDatabase, startKafkaMockCluster } from '@mailbridge/testing';
import { GaveUp, NodeProcess, build, freePort, waitFor } from './processes';

export const SERVICES = ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface Sandbox {
  /** The control API base (`…/_sandbox` is under it). */
  readonly controlUrl: string;
  readonly env: Record<string, string>;
  /** Its process id while it runs (the bench measures it apart from the platform). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export async function startSandbox(
  dir: string,
  seed: number,
  pushEndpoint: string,
  logFile: string,
): Promise<Sandbox> {
  const entry = build('libs/sandbox-providers');
  const [google, gmail, graph, microsoft] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const proc = new NodeProcess(
    'sandbox',
    entry,
    {
      SANDBOX_HOST: '127.0.0.1',
      SANDBOX_GOOGLE_PORT: String(google),
      SANDBOX_GMAIL_PORT: String(gmail),
      SANDBOX_GRAPH_PORT: String(graph),
      SANDBOX_MICROSOFT_PORT: String(microsoft),
      SANDBOX_SEED: String(seed),
      SANDBOX_CA_CERT_FILE: path.join(dir, 'sandbox-ca.pem'),
      SANDBOX_GMAIL_PUSH_ENDPOINT: pushEndpoint,
      ...(process.env.SANDBOX_NODE_OPTIONS ? { NODE_OPTIONS: process.env.SANDBOX_NODE_OPTIONS } : {}),
    },
    logFile,
  );
  proc.start();
  const controlUrl = `http://127.0.0.1:${google}`;
  const env = await waitFor(
    'the sandbox providers',
    async () => {
      if (!proc.running) throw new GaveUp(`the sandbox exited:\n${proc.tail()}`);
      const res = await fetch(`${controlUrl}/_sandbox/env`);
      return res.ok ? ((await res.json()) as Record<string, string>) : undefined;
    },
    60_000,
  );
  // The soak plays the user's browser on the Microsoft consent screen (https, the emulators' own CA).
  tls.setDefaultCACertificates([
    ...tls.getCACertificates('default'),
    fs.readFileSync(env.EXTRA_CA_CERTS_FILE, 'utf8'),
  ]);
  return {
    controlUrl,
    env,
    get pid() {
      return proc.pid;
    },
    stop: () => proc.stop(5_000),
  };
}

export interface Platform {
  readonly mode: 'embedded' | 'distributed';
  readonly urls: Record<ServiceName, string>;
  readonly authJwtSecret: string;
  readonly internalApiToken: string;
  /** What a kill step can hit: the embedded process, or one of the four services. */
  readonly killTargets: readonly string[];
  kill(target: number): Promise<void>;
  /** Starts the target again with the same settings and waits until it is ready. */
  restart(target: number): Promise<void>;
  /** Starts every target that is not running (after the traffic phase). */
  ensureRunning(): Promise<void>;
  stop(): Promise<void>;
  tail(target: number): string;
  /** The platform's running processes (the embedded process, or the four services, and the Kafka mock's kcat). */
  processes(): Array<{ name: string; pid: number }>;
  /** Distributed: the PostgreSQL database the services share. */
  readonly databaseUrl?: string;
}

/** What a caller other than the soak changes: settings over SOAK_PLATFORM_ENV, and per-process environment. */
export interface PlatformOptions {
  readonly env?: Record<string, string>;
  /** Extra environment of one process (e.g. the bench's NODE_OPTIONS for its SQL counter and profiler). */
  readonly processEnv?: (name: string) => Record<string, string>;
  readonly databasePrefix?: string;
  /** Brokers of the Kafka mock cluster (default 3), distributed mode. */
  readonly kafkaBrokers?: number;
}

/** Settings the soak gives the platform (the same in both modes): the only way it configures the services. */
export const SOAK_PLATFORM_ENV = {
  LOG_LEVEL: 'warn',
  // The soak polls the CRM API far faster than a person would.
  RATE_LIMIT_PER_MINUTE: '0',
  // Dropped notifications are recovered by the safety-net poll; 5 minutes would outlast the soak's settling wait.
  SAFETY_NET_POLL_SECONDS: '30',
  // Any free port for the Auto-BCC SMTP receiver, so the soak never competes with another local stack for 2525.
  SMTP_PORT: '0',
};

async function ready(url: string, proc: NodeProcess, timeoutMs: number): Promise<void> {
  await waitFor(
    `${proc.name} to be ready`,
    async () => {
      if (!proc.running) throw new GaveUp(`${proc.name} exited:\n${proc.tail()}`);
      const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
      return res.status === 200;
    },
    timeoutMs,
  );
}

export async function startEmbedded(
  dir: string,
  portBase: number,
  sandbox: Sandbox,
  logFile: string,
  options: PlatformOptions = {},
): Promise<Platform> {
  const entry = build('apps/embedded');
  const dataDir = path.join(dir, 'embedded-data');
  fs.mkdirSync(dataDir, { recursive: true });
  const urls = Object.fromEntries(
    SERVICES.map((s, i) => [s, `http://127.0.0.1:${portBase + i + 1}`]),
  ) as Record<ServiceName, string>;
  const proc = new NodeProcess(
    'embedded',
    entry,
    {
      ...sandbox.env,
      ...SOAK_PLATFORM_ENV,
      ...options.env,
      ...options.processEnv?.('embedded'),
      MAILBRIDGE_DATA_DIR: dataDir,
      MAILBRIDGE_PORT_BASE: String(portBase),
      MAILBRIDGE_HOST: '127.0.0.1',
      // The emulators run in the soak's sandbox process, not inside the platform (they must survive its kills).
      MAILBRIDGE_SANDBOX: 'off',
    },
    logFile,
  );
  const start = async () => {
    proc.start();
    await ready(urls.conversations, proc, 180_000);
    for (const s of SERVICES) await ready(urls[s], proc, 30_000);
  };
  await start();
  const secrets = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as {
    authJwtSecret: string;
    internalApiToken: string;
  };
  return {
    mode: 'embedded',
    urls,
    authJwtSecret: secrets.authJwtSecret,
    internalApiToken: secrets.internalApiToken,
    killTargets: ['embedded'],
    kill: () => proc.kill(),
    restart: start,
    ensureRunning: async () => {
      if (!proc.running) await start();
    },
    stop: () => proc.stop(),
    tail: () => proc.tail(),
    processes: () => (proc.pid ? [{ name: 'embedded', pid: proc.pid }] : []),
  };
}

export async function startDistributed(
  dir: string,
  sandbox: Sandbox,
  ports: readonly number[],
  logDir: string,
  options: PlatformOptions = {},
): Promise<Platform> {
  const entries = SERVICES.map((s) => build(`apps/${s}`));
  const [kafka, db] = await Promise.all([
    startKafkaMockCluster({ brokers: options.kafkaBrokers }),
    createTestDatabase(options.databasePrefix ?? 'mb_soak'),
  ]);
  const urls = Object.fromEntries(SERVICES.map((s, i) => [s, `http://127.0.0.1:${ports[i]}`])) as Record<
    ServiceName,
    string
  >;
  const authJwtSecret = randomBytes(32).toString('hex');
  const internalApiToken = randomBytes(32).toString('hex');
  const common: Record<string, string> = {
    ...sandbox.env,
    ...SOAK_PLATFORM_ENV,
    ...options.env,
    KAFKA_BROKERS: kafka.bootstrapServers.join(','),
    // The mock cluster cannot grant producer ids; production keeps idempotence on.
    KAFKA_IDEMPOTENT_PRODUCER: 'false',
    DATABASE_URL: db.url,
    RUN_MIGRATIONS: 'true',
    AUTH_JWT_SECRET: authJwtSecret,
    INTERNAL_API_TOKEN: internalApiToken,
    TOKEN_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    OBJECT_STORE_DIR: path.join(dir, 'objects'),
    DATA_DIR: dir,
    HOST: '127.0.0.1',
    ...Object.fromEntries(SERVICES.map((s) => [`${s.toUpperCase().replace(/-/g, '_')}_URL`, urls[s]])),
  };
  const procs = SERVICES.map(
    (s, i) =>
      new NodeProcess(
        s,
        entries[i],
        { ...common, ...options.processEnv?.(s), PORT: String(ports[i]), PUBLIC_URL: urls[s] },
        path.join(logDir, `distributed-${s}.log`),
      ),
  );
  const start = async (i: number) => {
    procs[i].start();
    await ready(urls[SERVICES[i]], procs[i], 180_000);
  };
  const stopAll = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await kafka.stop();
    await db.drop().catch(() => undefined);
  };
  try {
    // One at a time: the first start runs the migrations of each schema.
    for (let i = 0; i < SERVICES.length; i++) await start(i);
  } catch (error) {
    await stopAll();
    throw error;
  }
  return {
    mode: 'distributed',
    urls,
    authJwtSecret,
    internalApiToken,
    killTargets: SERVICES,
    kill: (i) => procs[i].kill(),
    restart: start,
    ensureRunning: async () => {
      for (let i = 0; i < procs.length; i++) if (!procs[i].running) await start(i);
    },
    stop: stopAll,
    tail: (i) => procs[i].tail(),
    databaseUrl: db.url,
    processes: () => {
      const running = procs.flatMap((p) => (p.pid ? [{ name: p.name, pid: p.pid }] : []));
      const kcat = kcatPid();
      return kcat ? [...running, { name: 'kafka-mock (kcat)', pid: kcat }] : running;
    },
  };
}

/** The mock cluster's kcat: a child of the small shell `startKafkaMockCluster` spawns from this process. */
function kcatPid(): number | undefined {
  const parentOf = (pid: string): number | undefined => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return undefined;
    }
  };
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let comm = '';
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    const shell = comm === 'kcat' ? parentOf(pid) : undefined;
    if (shell !== undefined && parentOf(String(shell)) === process.pid) return Number(pid);
  }
  return undefined;
}
