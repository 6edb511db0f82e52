/**
 * SYN-10 completeness audit cost. Prints numbers, asserts nothing (not a test).
 *
 *   node tools/run-ts.cjs bench/audit.bench.ts [--mailboxes 20] [--messages 25] [--rounds 5]
 *
 * Needs PostgreSQL on 127.0.0.1:5432 and kcat (Kafka mock cluster), like the other gateway bench. `--mailboxes` Gmail
 * mailboxes each receive `--messages` messages, all observed and decided (an idle mailbox: nothing missing); then
 * every mailbox is audited `--rounds` times. Per audit: provider calls (Gmail quota units), SQL statements and CPU
 * of this process (the sandbox emulators run in it too, so CPU is an upper bound), and wall time. Then the
 * extrapolation to 10,000 mailboxes audited every 15 minutes against the 5 %-of-one-core target and provider budgets.
 */
import { performance } from 'node:perf_hooks';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { eventCatalog, messageDecidedV1, messageObservedV1 } from '@mailbridge/contracts';
import { GMAIL_QUOTA_UNITS, GmailApi } from '@mailbridge/providers-google';
import { expectEventually } from '@mailbridge/testing';
import { MailboxAuditService } from '../apps/mail-gateway/src/audit/mailbox-audit.service';
import type { MailboxEntity } from '../apps/mail-gateway/src/mailboxes/mailbox.entity';
import { MailboxesRepository } from '../apps/mail-gateway/src/mailboxes/mailboxes.repository';
import { startGatewayHarness } from '../apps/mail-gateway/src/testing/gateway-harness';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1]);
const MAILBOXES = Number(args.get('mailboxes') ?? 20);
const MESSAGES = Number(args.get('messages') ?? 25);
const ROUNDS = Number(args.get('rounds') ?? 5);
const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const addresses = Array.from({ length: MAILBOXES }, (_, i) => `bench${i}@gmail.sandbox.test`);
  const h = await startGatewayHarness({
    sandbox: { mailboxes: addresses.map((address) => ({ provider: 'google' as const, address })) },
    // Only the audits run: no scheduled audits, no scheduler ticks in the measured part beyond what audits cause.
    env: { AUDIT_INTERVAL_MINUTES: '0', AUDIT_GRACE_MINUTES: '0' },
  });
  try {
    for (const a of addresses) await h.connect(a, 'google');
    for (const a of addresses) {
      for (let m = 0; m < MESSAGES; m++) {
        await h.sandbox.control.deliver(a, { from: `c${m}@example.com`, subject: `m${m}`, text: 'x' });
      }
    }
    await h.log.waitFor(messageObservedV1, () => true, MAILBOXES * MESSAGES, 300_000);
    // sync-engine's part, played here: every observed message decided (synced).
    await h.publish(
      ...h.log.of(messageObservedV1).map((p) =>
        eventCatalog.create(messageDecidedV1, {
          mailboxKey: p.mailboxKey,
          providerMessageId: p.message.providerMessageId,
          outcome: 'synced',
          rule: 'SYN-2',
          reason: null,
          conversations: 1,
          decidedAt: new Date().toISOString(),
        }),
      ),
    );
    await expectEventually(
      async () => {
        const [{ n }] = await h.query<{ n: string }>(
          `SELECT count(*) AS n FROM mail_gateway.message_ledger WHERE outcome IS NOT NULL`,
        );
        if (Number(n) < MAILBOXES * MESSAGES) throw new Error(`ledger ${n}`);
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    await new Promise((r) => setTimeout(r, 1_500)); // past the second of the last delivery (Gmail `before:`)

    // The scheduled path (what 10,000 mailboxes cost): the audit service itself, no HTTP in front of it.
    const service = h.gateway.app.get(MailboxAuditService);
    const mailboxes = h.gateway.app.get(MailboxesRepository);
    const byAddress = new Map<string, MailboxEntity>();
    for (const a of addresses) {
      const mailbox = await mailboxes.findByKey(`google:${a}`);
      if (!mailbox) throw new Error(`no mailbox for ${a}`);
      byAddress.set(a, mailbox);
    }
    const auditOnce = (address: string) => {
      const mailbox = byAddress.get(address);
      if (!mailbox) throw new Error(`no mailbox for ${address}`);
      return service.run(mailbox);
    };
    await auditOnce(addresses[0]); // warm-up

    let statements = 0;
    const original = PostgresQueryRunner.prototype.query;
    PostgresQueryRunner.prototype.query = function (
      this: PostgresQueryRunner,
      ...a: Parameters<typeof original>
    ) {
      statements++;
      return original.apply(this, a);
    } as typeof original;
    let calls = 0;
    let missing = 0;
    const statuses: Record<string, number> = {};
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      for (const a of addresses) {
        const report = await auditOnce(a);
        calls += report.providerCalls;
        missing += report.missing;
        statuses[report.status] = (statuses[report.status] ?? 0) + 1;
      }
    }
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    PostgresQueryRunner.prototype.query = original;
    const audits = MAILBOXES * ROUNDS;
    const cpuMs = (cpu.user + cpu.system) / 1000 / audits;
    // The sandbox Gmail runs in this process: the same listing calls made directly measure its share, subtracted.
    const gmail = new GmailApi({ rootUrl: h.sandbox.platformEnv().GMAIL_API_ROOT_URL, timeoutMs: 10_000 });
    const tokens = addresses.map(
      (a) => (h.sandbox.control.issueTokens(a) as { access_token: string }).access_token,
    );
    const q = `after:${Math.floor(Date.now() / 1000) - 86_400} before:${Math.floor(Date.now() / 1000)}`;
    const sandboxCpu0 = process.cpuUsage();
    for (let r = 0; r < ROUNDS; r++) {
      for (const token of tokens) {
        for (const label of ['INBOX', 'SENT'])
          await gmail.listMessages(token, { q, labelIds: [label], maxResults: 500 });
      }
    }
    const sandboxCpu = process.cpuUsage(sandboxCpu0);
    const sandboxMs = (sandboxCpu.user + sandboxCpu.system) / 1000 / audits;
    const gatewayMs = Math.max(0, cpuMs - sandboxMs);
    const perAudit = {
      providerCalls: calls / audits,
      gmailUnits: (calls / audits) * GMAIL_QUOTA_UNITS.messagesList,
      statements: statements / audits,
      cpuMs,
      wallMs: wallMs / audits,
    };
    out(
      `audit bench: ${MAILBOXES} idle Gmail mailboxes x ${MESSAGES} messages, ${ROUNDS} rounds (${audits} audits)`,
    );
    out(`  statuses: ${JSON.stringify(statuses)}, missing found: ${missing}`);
    out(
      `  per idle audit: ${perAudit.providerCalls.toFixed(1)} provider calls (${perAudit.gmailUnits.toFixed(0)} Gmail units), ` +
        `${perAudit.statements.toFixed(1)} SQL statements, ${perAudit.wallMs.toFixed(1)} ms wall`,
    );
    out(
      `  CPU per audit: ${cpuMs.toFixed(2)} ms in this process, of which ${sandboxMs.toFixed(2)} ms the sandbox's ` +
        `listing (client + emulator) => ${gatewayMs.toFixed(2)} ms mail-gateway (ledger query, report, outbox, relay, Kafka)`,
    );
    const perSecond = 10_000 / (15 * 60);
    out(`  10,000 mailboxes every 15 min = ${perSecond.toFixed(1)} audits/s:`);
    out(
      `    CPU ${((perSecond * gatewayMs) / 10).toFixed(2)} % of one core for mail-gateway ` +
        `(${((perSecond * cpuMs) / 10).toFixed(2)} % with the emulator; target < 5 %); ` +
        `${(perSecond * perAudit.statements).toFixed(0)} SQL statements/s; ` +
        `${(perSecond * perAudit.gmailUnits).toFixed(0)} Gmail units/s project-wide, ` +
        `${(perAudit.gmailUnits / 900).toFixed(3)} units/s per mailbox (per-user limit 250/s)`,
    );
  } finally {
    await h.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
