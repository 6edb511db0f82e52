import 'reflect-metadata';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { eventCatalog } from '@mailbridge/contracts';
import { ConfigError, loadConfig } from '@mailbridge/platform-config';
import { FileDeadLetterStore, InProcessEventBus } from '@mailbridge/platform-messaging';
import {
  HeldLogDestination,
  ServiceMetrics,
  createLogger,
  logDestination,
  resolveLogFormat,
} from '@mailbridge/platform-observability';
import { startEmbeddedPostgres } from '@mailbridge/platform-persistence';
import {
  RunningService,
  ServiceDefinition,
  assertSupportedNode,
  startService,
  trustExtraCaCertificates,
  trustExtraCaCertificatesFile,
  tuneHeapGrowth,
} from '@mailbridge/platform-runtime';
import { SAMPLE_MAILBOXES, SandboxProviders, startSandboxProviders } from '@mailbridge/sandbox-providers';
import { embeddedConfigSchema } from './embedded.config';
import { loadOrCreateSecrets } from './embedded-secrets';

const SERVICES = [
  ['identity-connections', 'identityConnectionsService'],
  ['mail-gateway', 'mailGatewayService'],
  ['sync-engine', 'syncEngineService'],
  ['conversations', 'conversationsService'],
] as const;

/**
 * The services are loaded from their built output beside this file (the embedded build compiles them too), by path
 * rather than by import: an app never imports another app, and this launcher only hosts them.
 */
function loadDefinition(app: string, exportName: string): ServiceDefinition {
  const mod = require(path.join(__dirname, '..', '..', app, 'src', 'service')) as Record<
    string,
    ServiceDefinition
  >;
  const def = mod[exportName];
  if (!def) throw new Error(`apps/${app}/src/service does not export ${exportName}`);
  return def;
}

/**
 * Binds a listening socket to a port the OS picks and keeps it: the service takes it over (ServiceHost.listenOn), so no
 * other process can take the port between choosing it and listening (choosing a free port, closing it and binding it
 * again lost that race about one start in ten).
 */
function bindFreePort(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    // Nothing connects before the service takes the socket over: its URL is not published until then.
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Whether a fixed port can be bound now (the Auto-BCC receiver binds inside mail-gateway, from SMTP_PORT). */
function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Offset of the Auto-BCC SMTP receiver from MAILBRIDGE_PORT_BASE (3025 by default). */
const SMTP_PORT_OFFSET = 25;

/**
 * The Auto-BCC receiver's port follows MAILBRIDGE_PORT_BASE: BASE+25, or any free port (0) with base 0, unless
 * SMTP_PORT or SMTP_ENABLED are set. A fixed port that is taken turns the receiver off, and the banner says why.
 */
async function autoBccSettings(
  portBase: number,
  host: string,
  env: Record<string, string | undefined>,
): Promise<{ env: Record<string, string>; off?: string }> {
  if (env.SMTP_ENABLED !== undefined || env.SMTP_PORT !== undefined) return { env: {} };
  if (portBase === 0) return { env: { SMTP_PORT: '0' } };
  const port = portBase + SMTP_PORT_OFFSET;
  if (await portIsFree(port, host)) return { env: { SMTP_PORT: String(port) } };
  return {
    env: { SMTP_ENABLED: 'false' },
    off: `port ${port} (MAILBRIDGE_PORT_BASE+${SMTP_PORT_OFFSET}) is taken; set SMTP_PORT or MAILBRIDGE_PORT_BASE`,
  };
}

async function startSandbox(portBase: number, mailGatewayUrl: string): Promise<SandboxProviders> {
  // Same ports as `npm run sandbox` by default (4010, 4011, 4020, 4030); free ports when the services use free ports.
  const at = (offset: number) => (portBase === 0 ? 0 : portBase + offset);
  return startSandboxProviders({
    ports: { gmail: at(1010), google: at(1011), graph: at(1020), microsoft: at(1030) },
    mailboxes: SAMPLE_MAILBOXES,
    google: { pushEndpoint: `${mailGatewayUrl}/v1/webhooks/gmail` },
  });
}

/** A person at a terminal gets the banner on top: the start-up lines are held until it is printed. */
let startupLines: HeldLogDestination | undefined;

async function main(): Promise<void> {
  assertSupportedNode('embedded');
  // First, so the flag never changes while a collection (PGlite's worker's included) reads it.
  tuneHeapGrowth();
  const config = loadConfig(embeddedConfigSchema);
  const dataDir = path.resolve(config.MAILBRIDGE_DATA_DIR);
  const format = resolveLogFormat(config.LOG_FORMAT);
  if (format === 'pretty') startupLines = new HeldLogDestination(logDestination(format));
  const logger = createLogger({
    service: 'embedded',
    level: config.LOG_LEVEL,
    format,
    ...(startupLines ? { destination: startupLines } : {}),
  });
  const secrets = await loadOrCreateSecrets(dataDir);
  const authJwtSecret = config.AUTH_JWT_SECRET ?? secrets.authJwtSecret;

  const useSandbox =
    config.MAILBRIDGE_SANDBOX === 'on' ||
    (config.MAILBRIDGE_SANDBOX === 'auto' && !config.GOOGLE_CLIENT_ID && !config.MICROSOFT_CLIENT_ID);

  const database = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pglite') });
  // Held until every service has subscribed (below): a relay starting with the first service must not see its events
  // as delivered while a later service's groups are not known yet (its outbox rows would go, the events in memory).
  const bus = new InProcessEventBus({
    catalog: eventCatalog,
    logger: logger.child({ component: 'bus' }),
    holdUntilOpened: true,
    deadLetterStore: new FileDeadLetterStore(path.join(dataDir, 'dead-letters.jsonl')),
    // Every group subscribes before the bus opens, so handled history serves no late group here, and the outboxes,
    // not this log, make delivery durable. 1,000 handled records per partition instead of 10,000: at 10,000 mailboxes
    // the default kept every connect's events (~4 KB a mailbox) and up to 80,000 messages a topic after a burst.
    retainHandled: 1_000,
  });
  const serviceEnv: Record<string, string | undefined> = {
    ...process.env,
    OBJECT_STORE_DIR: process.env.OBJECT_STORE_DIR ?? path.join(dataDir, 'objects'),
    // The embedded database does not fsync (PGlite's -F): objects match it, surviving kill -9 but not a power cut.
    OBJECT_STORE_FSYNC: process.env.OBJECT_STORE_FSYNC ?? 'false',
    TOKEN_ENCRYPTION_KEYS: process.env.TOKEN_ENCRYPTION_KEYS ?? `k1:${secrets.tokenEncryptionKey}`,
  };

  // Ports are known before anything starts, so every service knows every public URL (OAuth redirect URIs, webhook
  // URLs, the identity service's internal token route) from its first line of configuration. With base 0 each socket
  // is bound now (port 0) and handed to its service: the port reported is the one the OS gave and still holds.
  const sockets =
    config.MAILBRIDGE_PORT_BASE === 0
      ? await Promise.all(SERVICES.map(() => bindFreePort(config.MAILBRIDGE_HOST)))
      : undefined;
  const ports = SERVICES.map((_, i) =>
    sockets ? (sockets[i].address() as net.AddressInfo).port : config.MAILBRIDGE_PORT_BASE + i + 1,
  );
  if (sockets)
    logger.debug(
      { ports: Object.fromEntries(SERVICES.map(([app], i) => [app, ports[i]])) },
      'listening sockets bound',
    );
  const autoBcc = await autoBccSettings(config.MAILBRIDGE_PORT_BASE, config.MAILBRIDGE_HOST, process.env);
  Object.assign(serviceEnv, autoBcc.env);
  const publicUrls = Object.fromEntries(SERVICES.map(([app], i) => [app, `http://localhost:${ports[i]}`]));
  for (const [app, url] of Object.entries(publicUrls)) {
    serviceEnv[`${app.toUpperCase().replace(/-/g, '_')}_URL`] ??= url;
  }

  // Without Google/Microsoft credentials the services talk to the emulators, only through the same settings they
  // would use for the real providers (no test branches in the services).
  const sandbox = useSandbox
    ? await startSandbox(config.MAILBRIDGE_PORT_BASE, publicUrls['mail-gateway'])
    : undefined;
  if (sandbox) {
    Object.assign(serviceEnv, sandbox.platformEnv());
    trustExtraCaCertificates(sandbox.caCertPem);
  }
  // The same setting as a standalone service: emulators (or a proxy) started elsewhere are trusted too.
  if (config.EXTRA_CA_CERTS_FILE) trustExtraCaCertificatesFile(config.EXTRA_CA_CERTS_FILE);

  const running: RunningService[] = [];
  for (const [index, [app, exportName]] of SERVICES.entries()) {
    const definition = loadDefinition(app, exportName);
    // The four share one bus; each sees it through a view that puts its bus series and stats on its own /metrics.
    const metrics = new ServiceMetrics(definition.name);
    running.push(
      await startService(definition, {
        name: definition.name,
        port: ports[index],
        ...(sockets ? { listenOn: sockets[index] } : {}),
        host: config.MAILBRIDGE_HOST,
        databaseUrl: database.url,
        runMigrations: true,
        bus: bus.forService(definition.name, metrics),
        metrics,
        // One process owns the database: a lease left by a killed process only delays publishing after a restart.
        outboxLeaseMs: 2_000,
        logger: logger.child({ service: definition.name }),
        auth: { jwtSecret: authJwtSecret },
        internalApiToken: secrets.internalApiToken,
        env: { ...serviceEnv, PUBLIC_URL: publicUrls[app] },
      }),
    );
  }

  bus.open();

  const urls = Object.fromEntries(running.map((s) => [s.name, s.url]));
  // Listeners besides HTTP (the Auto-BCC receiver): where they listen, or why they are off.
  const listeners = running.flatMap((s) =>
    s.listeners.map((l) =>
      'url' in l ? l : { ...l, off: s.name === 'mail-gateway' && autoBcc.off ? autoBcc.off : l.off },
    ),
  );
  await fs.writeFile(
    path.join(dataDir, 'embedded.json'),
    JSON.stringify(
      {
        pid: process.pid,
        urls,
        listeners,
        sandbox: sandbox?.urls ?? null,
        startedAt: new Date().toISOString(),
      },
      null,
      2,
    ),
  );
  const lines = [
    '',
    'Mailbridge is running (embedded: one process, in-process bus, PGlite in ' +
      path.relative(process.cwd(), dataDir) +
      ')',
    ...running.map((s) => `  ${s.name.padEnd(22)} ${s.url}   (API docs: ${s.url}/docs)`),
    ...listeners.map((l) => `  ${l.name.padEnd(22)} ${'url' in l ? l.url : `off: ${l.off}`}`),
    '',
    ...(sandbox
      ? [
          `Sandbox providers (no Google/Microsoft account needed): Gmail ${sandbox.urls.gmail}, Graph ${sandbox.urls.graph}`,
          `  mailboxes: ${SAMPLE_MAILBOXES.map((m) => m.address).join(', ')}`,
          `  control API: ${sandbox.urls.google}/_sandbox`,
          '',
        ]
      : []),
    'Mint a CRM token:  npm run token -- --location loc_demo --user usr_demo',
    '',
  ];
  // Signals are handled before the banner says we are up: whoever reads it may stop us at once.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    for (const s of [...running].reverse())
      await s.close().catch((err) => logger.error({ err }, 'close failed'));
    await bus.close();
    await sandbox?.close();
    await database.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.stdout.write(lines.join('\n') + '\n');
  startupLines?.release();
}

main().catch((error: unknown) => {
  startupLines?.release();
  process.stderr.write(
    error instanceof ConfigError
      ? `embedded: ${error.message}\n`
      : `embedded: failed to start: ${String(error)}\n`,
  );
  process.exit(1);
});
