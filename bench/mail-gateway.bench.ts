/**
 * mail-gateway performance. Prints numbers, asserts nothing (not a test).
 *
 *   node tools/run-ts.cjs bench/mail-gateway.bench.ts [--mailboxes 10] [--messages 400] [--requests 2000] [--concurrency 16]
 *     [--normalize-messages 2000]
 *
 * Needs PostgreSQL on 127.0.0.1:5432 (or TEST_DATABASE_ADMIN_URL) and kcat (librdkafka's Kafka mock cluster). The
 * gateway runs in this process against the sandbox providers, exactly as in the integration tests.
 *
 * 1. Webhook ack latency: the request path alone (authenticate, durable hand-off in the outbox, answer), measured at
 *    the client, p50/p99 over `--requests` POSTs with `--concurrency` in flight:
 *    a. Gmail Pub/Sub push: a genuine push (OIDC token and body captured from the sandbox) replayed;
 *    b. Graph change notification with the subscription's clientState.
 * 2. Pulled messages/s for N mailboxes per provider: `--messages` messages delivered across the mailboxes (a third
 *    with a PDF attachment) while notifications are held, then released: time to the last `message.observed` read
 *    back from Kafka (fetch raw in provider batches, store raw + attachments, parse, outbox, relay, Kafka).
 * 3. The sandbox's own ceiling, in the same process with the gateway idle: message fetches/s one call per message
 *    and batched (Gmail HTTP batch of 100, Graph `$batch` of 20), so it is known whether the sandbox limited (2).
 * 4. `MessageNormalizer` alone, after the gateway stopped: CPU per message (this process, thread pool included) of
 *    `--normalize-messages` small messages (no attachment) into a local-folder store with fsync (as distributed), the
 *    raw message kept (STORE_RAW_MESSAGES=true) and not (the default), alternated three times each.
 *
 * Before/after for issue 16 (same machine, 10+10 mailboxes, 400 messages each): see the last lines printed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { messageObservedV1 } from '@mailbridge/contracts';
import { composeMime } from '@mailbridge/domain-mail';
import { LocalFolderObjectStore } from '@mailbridge/platform-object-store';
import { expectEventually } from '@mailbridge/testing';
import { MessageNormalizer } from '../apps/mail-gateway/src/sync/message-normalizer.service';
import { startGatewayHarness, type GatewayHarness } from '../apps/mail-gateway/src/testing/gateway-harness';
import { formatCeiling, measureSandboxCeiling } from './sandbox-ceiling';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const MAILBOXES = Number(args.get('mailboxes') ?? 10);
const MESSAGES = Number(args.get('messages') ?? 400);
const REQUESTS = Number(args.get('requests') ?? 2000);
const CONCURRENCY = Number(args.get('concurrency') ?? 16);
const CEILING_FETCHES = Number(args.get('ceiling-fetches') ?? 3000);
const NORMALIZE_MESSAGES = Number(args.get('normalize-messages') ?? 2000);

const out = (line: string) => process.stdout.write(`${line}\n`);
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(20_000, 0x41), Buffer.from('\n%%EOF\n')]);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function fire(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ p50: number; p99: number; max: number; statuses: Record<number, number>; perSecond: number }> {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = http.request(
        { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - started);
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) await one();
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1],
    statuses,
    perSecond: (REQUESTS / elapsed) * 1000,
  };
}

/** A genuine Pub/Sub push: briefly point the subscription at a capture server, let one message trigger it. */
async function capturePush(
  h: GatewayHarness,
  address: string,
): Promise<{ authorization: string; body: string }> {
  let captured: { authorization: string; body: string } | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured ??= { authorization: req.headers.authorization ?? '', body: Buffer.concat(chunks).toString() };
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const gatewayEndpoint = `${h.gateway.url.replace('localhost', '127.0.0.1')}/v1/webhooks/gmail`;
  h.sandbox.control.setPushEndpoint({ pushEndpoint: `http://127.0.0.1:${port}/push` });
  await h.sandbox.control.deliver(address, { from: 'bench@example.com', subject: 'capture', text: 'c' });
  await expectEventually(() => {
    if (!captured) throw new Error('no push yet');
  });
  h.sandbox.control.setPushEndpoint({ pushEndpoint: gatewayEndpoint });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return captured!;
}

/** Waits until the gateway is quiet: nothing left in its outbox, no pull requested. */
async function drain(h: GatewayHarness): Promise<void> {
  await expectEventually(
    async () => {
      const [{ n }] = await h.query<{ n: number }>(`SELECT count(*)::int AS n FROM mail_gateway.outbox`);
      const [{ p }] = await h.query<{ p: number }>(
        `SELECT count(*)::int AS p FROM mail_gateway.mailboxes WHERE pull_requested_at IS NOT NULL`,
      );
      if (n > 0 || p > 0) throw new Error(`outbox ${n}, pulls pending ${p}`);
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
}

async function main(): Promise<void> {
  const gmail = Array.from({ length: MAILBOXES }, (_, i) => `user${i}@gmail.bench.test`);
  const outlook = Array.from({ length: MAILBOXES }, (_, i) => `user${i}@outlook.bench.test`);
  const h = await startGatewayHarness({
    sandbox: {
      mailboxes: [
        ...gmail.map((address) => ({ provider: 'google' as const, address })),
        ...outlook.map((address) => ({ provider: 'microsoft' as const, address })),
      ],
    },
    env: { LOG_LEVEL: 'warn' },
  });
  try {
    const connectStarted = performance.now();
    await Promise.all([
      ...gmail.map((a) => h.connect(a, 'google')),
      ...outlook.map((a) => h.connect(a, 'microsoft')),
    ]);
    out(
      `mail-gateway bench: ${MAILBOXES} Gmail + ${MAILBOXES} Outlook mailboxes, Kafka mock cluster, PostgreSQL`,
    );
    out(
      `  connect → watching (watch / subscriptions + baseline): ${Math.round(performance.now() - connectStarted)} ms for ${2 * MAILBOXES} mailboxes`,
    );

    // 1. webhook ack latency
    const push = await capturePush(h, gmail[0]);
    const base = h.gateway.url.replace('localhost', '127.0.0.1');
    const gmailAck = await fire(
      `${base}/v1/webhooks/gmail`,
      { authorization: push.authorization, 'content-type': 'application/json' },
      push.body,
    );
    const sub = h.sandbox.control.subscriptions(outlook[0]).find((s) => /inbox/i.test(s.resource))!;
    const graphAck = await fire(
      `${base}/v1/webhooks/microsoft`,
      { 'content-type': 'application/json' },
      JSON.stringify({
        value: [
          { subscriptionId: sub.id, clientState: sub.clientState, changeType: 'created', resource: 'x' },
        ],
      }),
    );
    const fmt = (r: Awaited<ReturnType<typeof fire>>) =>
      `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms, ${Math.round(r.perSecond)} req/s, statuses ${JSON.stringify(r.statuses)}`;
    out(
      `  webhook ack, Gmail push (JWT verified + hand-off), ${REQUESTS} requests x${CONCURRENCY}: ${fmt(gmailAck)}`,
    );
    out(
      `  webhook ack, Graph notification (clientState + hand-off), ${REQUESTS} requests x${CONCURRENCY}: ${fmt(graphAck)}`,
    );
    // Let the replayed hand-offs drain (they only coalesce into pulls of mailboxes with nothing new).
    await drain(h);

    // 2. pulled messages/s
    for (const [provider, addresses] of [
      ['Gmail', gmail],
      ['Outlook', outlook],
    ] as const) {
      // Each phase starts quiet: the previous phase's late notifications (Pub/Sub pushes come at most one per
      // second per mailbox) and the pulls they cause are not counted against this one.
      await drain(h);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await drain(h);
      const before = h.log.of(messageObservedV1).length;
      // Delivery (the emulator composing mail) is not what is measured: notifications are held until all is in.
      h.sandbox.control.setNotificationBehaviour('all', { hold: true });
      for (let i = 0; i < MESSAGES; i++) {
        await h.sandbox.control.deliver(addresses[i % addresses.length], {
          from: `sender${i}@example.com`,
          subject: `Bench ${provider} ${i}`,
          text: `message ${i}`,
          ...(i % 3 === 0
            ? { attachments: [{ filename: `doc${i}.pdf`, contentType: 'application/pdf', content: PDF }] }
            : {}),
        });
      }
      const started = performance.now();
      h.sandbox.control.setNotificationBehaviour('all', { hold: false });
      await expectEventually(
        () => {
          const n = h.log.of(messageObservedV1).length - before;
          if (n < MESSAGES) throw new Error(`${n}/${MESSAGES} observed`);
        },
        { timeoutMs: 600_000, intervalMs: 50 },
      );
      const elapsed = performance.now() - started;
      // Provider errors during the pull (throttling would explain a slow run): mail_gateway_provider_errors_total.
      const errors = (
        await h.gateway.metrics.registry.getSingleMetric('mail_gateway_provider_errors_total')?.get()
      )?.values
        .filter((v) => v.value > 0)
        .map((v) => `${String(v.labels.provider)}/${String(v.labels.code)}=${v.value}`)
        .join(' ');
      out(
        `  pulled ${provider}: ${MESSAGES} messages over ${addresses.length} mailboxes, notification released → last ` +
          `message.observed on Kafka in ${Math.round(elapsed)} ms → ${((MESSAGES / elapsed) * 1000).toFixed(1)} messages/s` +
          ` (provider errors so far: ${errors || 'none'})`,
      );
    }

    // 3. the sandbox's ceiling (the gateway is idle now)
    const ceiling = await measureSandboxCeiling(h.sandbox, {
      messages: 200,
      fetches: CEILING_FETCHES,
      batches: true,
    });
    out(`  ${formatCeiling(ceiling)}`);
  } finally {
    await h.close();
  }
  await normalizeCost();
}

/** 4. CPU per normalised message with the raw kept and not, alternated (the first round also warms the JIT up). */
async function normalizeCost(): Promise<void> {
  const raws: Buffer[] = [];
  for (let i = 0; i < NORMALIZE_MESSAGES; i++) {
    const { raw } = await composeMime({
      from: `sender${i}@example.com`,
      to: ['user@gmail.bench.test'],
      subject: `Bench ${i}`,
      text: `message ${i} `.repeat(40),
    });
    raws.push(raw);
  }
  const cpu: Record<'kept' | 'not kept', number[]> = { kept: [], 'not kept': [] };
  for (const round of [0, 1, 2]) {
    for (const keep of round % 2 === 0 ? [false, true] : [true, false]) {
      const dir = await mkdtemp(path.join(tmpdir(), 'mb-bench-normalize-'));
      try {
        const normalizer = new MessageNormalizer(
          new LocalFolderObjectStore(dir, { fsync: true }),
          undefined,
          {
            STORE_RAW_MESSAGES: keep,
          },
        );
        const before = process.cpuUsage();
        let next = 0;
        // Four at a time, as a pull normalises a page (FETCH_CONCURRENCY).
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            for (let i = next++; i < raws.length; i = next++) {
              await normalizer.normalize(
                {
                  provider: 'google',
                  providerMessageId: `m${i}`,
                  providerThreadId: 't',
                  receivedAt: new Date(),
                  labels: ['INBOX'],
                  inSent: false,
                  raw: raws[i],
                },
                'user@gmail.bench.test',
              );
            }
          }),
        );
        const used = process.cpuUsage(before);
        cpu[keep ? 'kept' : 'not kept'].push((used.user + used.system) / 1000 / raws.length);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
  }
  // The first round warms the JIT up: the last two rounds of each are what is printed.
  const fmt = (xs: number[]) =>
    xs
      .slice(1)
      .map((x) => x.toFixed(3))
      .join(' / ');
  out(
    `  normalise ${NORMALIZE_MESSAGES} messages (no attachment; local store, fsync), CPU ms/msg: raw not kept ` +
      `(default) ${fmt(cpu['not kept'])}, raw kept (STORE_RAW_MESSAGES=true) ${fmt(cpu.kept)}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
