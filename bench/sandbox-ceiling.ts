/**
 * The sandbox's own ceiling: message fetches/s it serves, one call per message and batched (Gmail HTTP batch of 100,
 * Graph `$batch` of 20), with the clients of this process as the only load. Used by bench/mail-gateway.bench.ts and
 * runnable alone: node tools/run-ts.cjs bench/sandbox-ceiling.ts [--messages 200] [--fetches 3000]
 */
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { startSandboxProviders, type SandboxProviders } from '@mailbridge/sandbox-providers';

export interface CeilingResult {
  gmailSingle: number;
  gmailBatched?: number;
  graphSingle: number;
  graphBatched?: number;
}

async function pool(total: number, concurrency: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await one(i);
    }),
  );
  return performance.now() - started;
}

function expectOk(res: Response, what: string): void {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status}`);
}

/** Measures on `sandbox` (quota and throttling lifted for the run, restored after). */
export async function measureSandboxCeiling(
  sandbox: SandboxProviders,
  options: { messages: number; fetches: number; batches: boolean },
): Promise<CeilingResult> {
  const gmailUser = `ceiling-${Date.now()}@gmail.ceiling.test`;
  const graphUser = `ceiling-${Date.now()}@outlook.ceiling.test`;
  sandbox.control.createMailbox({ provider: 'google', address: gmailUser });
  sandbox.control.createMailbox({ provider: 'microsoft', address: graphUser });
  const gmailIds: string[] = [];
  const graphIds: string[] = [];
  const body = 'x'.repeat(3000);
  for (let i = 0; i < options.messages; i++) {
    const input = { from: `s${i}@example.com`, subject: `Ceiling ${i}`, text: body };
    gmailIds.push((await sandbox.control.deliver(gmailUser, input)).message.id);
    graphIds.push((await sandbox.control.deliver(graphUser, input)).message.id);
  }
  sandbox.control.setGmailQuota({ unitsPerMinute: 1e12 });
  sandbox.control.setGraphLimits({ concurrencyLimit: 1e9, requestsPer10Minutes: 1e12 });
  const gmailAuth = `Bearer ${String(sandbox.control.issueTokens(gmailUser).access_token)}`;
  const graphAuth = `Bearer ${String(sandbox.control.issueTokens(graphUser).access_token)}`;
  const n = options.fetches;
  const rate = (ms: number) => Math.round((n / ms) * 1000);
  try {
    const gmailSingle = rate(
      await pool(n, 16, async (i) => {
        const res = await fetch(
          `${sandbox.urls.gmail}/gmail/v1/users/me/messages/${gmailIds[i % gmailIds.length]}?format=raw`,
          { headers: { authorization: gmailAuth } },
        );
        expectOk(res, 'gmail get');
        await res.arrayBuffer();
      }),
    );
    const graphSingle = rate(
      await pool(n, 16, async (i) => {
        const res = await fetch(
          `${sandbox.urls.graph}/v1.0/me/messages/${encodeURIComponent(graphIds[i % graphIds.length])}/$value`,
          { headers: { authorization: graphAuth } },
        );
        expectOk(res, 'graph $value');
        await res.arrayBuffer();
      }),
    );
    if (!options.batches) return { gmailSingle, graphSingle };
    const gmailBatched = rate(
      await pool(Math.ceil(n / 100), 4, async (b) => {
        const boundary = `batch_${b}`;
        let payload = '';
        for (let i = 0; i < 100; i++) {
          const id = gmailIds[(b * 100 + i) % gmailIds.length];
          payload += `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <${i}>\r\n\r\nGET /gmail/v1/users/me/messages/${id}?format=raw\r\n\r\n`;
        }
        payload += `--${boundary}--\r\n`;
        const res = await fetch(`${sandbox.urls.gmail}/batch/gmail/v1`, {
          method: 'POST',
          headers: { authorization: gmailAuth, 'content-type': `multipart/mixed; boundary=${boundary}` },
          body: payload,
        });
        expectOk(res, 'gmail batch');
        const text = await res.text();
        if ((text.match(/HTTP\/1\.1 200/g) ?? []).length !== 100)
          throw new Error('gmail batch: not 100 answers');
      }),
    );
    const graphBatched = rate(
      await pool(Math.ceil(n / 20), 4, async (b) => {
        const requests = Array.from({ length: 20 }, (_, i) => ({
          id: String(i),
          method: 'GET',
          url: `/me/messages/${encodeURIComponent(graphIds[(b * 20 + i) % graphIds.length])}/$value`,
        }));
        const res = await fetch(`${sandbox.urls.graph}/v1.0/$batch`, {
          method: 'POST',
          headers: { authorization: graphAuth, 'content-type': 'application/json' },
          body: JSON.stringify({ requests }),
        });
        expectOk(res, 'graph $batch');
        const answer = (await res.json()) as { responses: Array<{ status: number }> };
        if (answer.responses.filter((r) => r.status === 200).length !== 20)
          throw new Error('graph $batch: not 20 answers');
      }),
    );
    return { gmailSingle, gmailBatched, graphSingle, graphBatched };
  } finally {
    sandbox.control.setGmailQuota({ unitsPerMinute: 15_000 });
    sandbox.control.setGraphLimits({ concurrencyLimit: 4, requestsPer10Minutes: 10_000 });
  }
}

export function formatCeiling(r: CeilingResult): string {
  const batched = (v: number | undefined) => (v === undefined ? 'n/a' : `${v}`);
  return (
    `sandbox ceiling (message fetches/s): Gmail ${r.gmailSingle} single, ${batched(r.gmailBatched)} batched (100/batch); ` +
    `Graph ${r.graphSingle} single, ${batched(r.graphBatched)} batched (20/$batch)`
  );
}

if (require.main === module || process.argv[1]?.endsWith('sandbox-ceiling.ts')) {
  const args = new Map<string, string>();
  for (let i = 2; i < process.argv.length; i += 2)
    args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
  void (async () => {
    const sandbox = await startSandboxProviders();
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), sandbox.caCertPem]);
    try {
      const r = await measureSandboxCeiling(sandbox, {
        messages: Number(args.get('messages') ?? 200),
        fetches: Number(args.get('fetches') ?? 3000),
        batches: args.get('batches') !== 'no',
      });
      process.stdout.write(`${formatCeiling(r)}\n`);
    } finally {
      await sandbox.close();
    }
  })().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`ceiling failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
