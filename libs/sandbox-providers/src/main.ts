// Standalone sandbox: `npm run sandbox`. Starts every emulator on fixed ports with sample mailboxes, prints the
// platform environment, and runs until interrupted.
import { startSandboxProviders } from './sandbox-providers';
import { SAMPLE_MAILBOXES } from './sample-mailboxes';

const env = process.env;
const port = (name: string, fallback: number) => Number(env[name] ?? fallback);

async function main(): Promise<void> {
  const sandbox = await startSandboxProviders({
    host: env.SANDBOX_HOST ?? '127.0.0.1',
    publicHost: env.SANDBOX_PUBLIC_HOST,
    ports: {
      google: port('SANDBOX_GOOGLE_PORT', 4011),
      gmail: port('SANDBOX_GMAIL_PORT', 4010),
      graph: port('SANDBOX_GRAPH_PORT', 4020),
      microsoft: port('SANDBOX_MICROSOFT_PORT', 4030),
    },
    seed: env.SANDBOX_SEED ? Number(env.SANDBOX_SEED) : undefined,
    caCertFile: env.SANDBOX_CA_CERT_FILE,
    mailboxes: SAMPLE_MAILBOXES,
    google: { pushEndpoint: env.SANDBOX_GMAIL_PUSH_ENDPOINT },
  });
  const lines = [
    'Mailbridge sandbox providers are running.',
    '',
    `  Google accounts (OAuth)  ${sandbox.urls.google}`,
    `  Gmail API                ${sandbox.urls.gmail}`,
    `  Microsoft Graph (https)  ${sandbox.urls.graph}`,
    `  Microsoft identity       ${sandbox.urls.microsoft}`,
    `  Control API              ${sandbox.urls.google}/_sandbox  (on every server)`,
    '',
    'Sample mailboxes:',
    ...SAMPLE_MAILBOXES.map((m) => `  ${m.provider.padEnd(9)} ${m.address}`),
    '',
    'Platform environment:',
    ...Object.entries(sandbox.platformEnv()).map(([k, v]) => `  export ${k}='${v}'`),
    '',
    'Deliver a message into a sandbox mailbox:',
    `  curl -s -X POST ${sandbox.urls.google}/_sandbox/mailboxes/${SAMPLE_MAILBOXES[0].address}/deliver \\`,
    `    -H 'content-type: application/json' \\`,
    `    -d '{"from":"Alex <alex@example.com>","subject":"Hello","text":"Hi Sam!"}'`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const stop = () => {
    void sandbox.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(
      `sandbox failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
