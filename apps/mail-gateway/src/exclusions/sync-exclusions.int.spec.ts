import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  eventCatalog,
  messageDecidedV1,
  messageObservedV1,
  syncExclusionsChangedV1,
  connectionSyncExclusionsChangedV1,
} from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';
import { startGatewayHarness, type GatewayHarness } from '../testing/gateway-harness';

const SAM = 'sam@gmail.sandbox.test';
const SAM_OUTLOOK = 'sam@outlook.sandbox.test';
const ALEX = 'alex@example.com';
const LOC = 'loc_excl';
const GRACE_MS = 3_000;

/**
 * SYN-8 against the sandbox Gmail (raw, in memory) and Outlook (MIME of a $batch), on PostgreSQL and Kafka: mail of an
 * excluded domain or address never reaches a table, the object store or a topic; its only trace is its outcome in the
 * ledger, which the completeness audit counts as accounted.
 */
describe('mail-gateway: exclusion lists (SYN-8, sandbox Gmail + Outlook, Kafka, PostgreSQL)', () => {
  let h: GatewayHarness;
  let decider: NodeJS.Timeout;
  let outlookConnectionId = '';

  beforeAll(async () => {
    h = await startGatewayHarness({
      sandbox: {
        mailboxes: [
          { provider: 'google', address: SAM, displayName: 'Sam' },
          { provider: 'microsoft', address: SAM_OUTLOOK, displayName: 'Sam' },
        ],
      },
      // Raw MIME kept (STORE_RAW_MESSAGES), so "nothing of it stored" covers the raw copy, not only attachments.
      env: {
        AUDIT_INTERVAL_MINUTES: '0',
        AUDIT_GRACE_MINUTES: String(GRACE_MS / 60_000),
        STORE_RAW_MESSAGES: 'true',
      },
    });
    await h.connect(SAM, 'google', LOC);
    outlookConnectionId = (await h.connect(SAM_OUTLOOK, 'microsoft', LOC)).connectionId;
    // sync-engine's part: every observed message is decided (synced).
    const seen = new Set<string>();
    decider = setInterval(() => {
      for (const e of h.log.events) {
        if (seen.has(e.id) || !eventCatalog.is(e, messageObservedV1)) continue;
        seen.add(e.id);
        void h.publish(
          eventCatalog.create(messageDecidedV1, {
            mailboxKey: e.payload.mailboxKey,
            providerMessageId: e.payload.message.providerMessageId,
            outcome: 'synced',
            rule: 'SYN-2',
            reason: null,
            conversations: 1,
            decidedAt: new Date().toISOString(),
          }),
        );
      }
    }, 100);
    const changed = (over: Partial<Parameters<typeof syncExclusionsChangedV1.payload.parse>[0]>) =>
      eventCatalog.create(syncExclusionsChangedV1, {
        locationId: LOC,
        scope: 'location',
        connectionId: null,
        userId: null,
        addresses: [],
        domains: [],
        betweenLocationUsers: false,
        revision: 1,
        changedAt: new Date().toISOString(),
        ...over,
      });
    await h.publish(
      changed({ domains: ['bank.example'], revision: 2 }),
      // An older revision arriving later never wins.
      changed({ domains: [], revision: 1 }),
      eventCatalog.create(connectionSyncExclusionsChangedV1, {
        ...changed({}).payload,
        scope: 'connection',
        connectionId: outlookConnectionId,
        userId: 'usr_sam',
        addresses: ['doctor@clinic.example'],
      }),
    );
    await expectEventually(async () => {
      const rows = await h.query<{ scope_key: string; domains: string[] }>(
        `SELECT scope_key, domains FROM mail_gateway.sync_exclusions ORDER BY scope_key`,
      );
      expect(rows).toEqual([
        { scope_key: `connection:${outlookConnectionId}`, domains: [] },
        { scope_key: `location:${LOC}`, domains: ['bank.example'] },
      ]);
    });
  }, 180_000);
  afterAll(async () => {
    clearInterval(decider);
    await h?.close();
  });

  /** Every row of every table of every schema in the database, as text. */
  async function everyRow(): Promise<Array<{ table: string; row: string }>> {
    const tables = await h.query<{ s: string; t: string }>(
      `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
       WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    const out: Array<{ table: string; row: string }> = [];
    for (const { s, t } of tables) {
      const rows = await h.query<{ row: string }>(`SELECT x::text AS row FROM "${s}"."${t}" x`);
      out.push(...rows.map((r) => ({ table: `${s}.${t}`, row: r.row })));
    }
    return out;
  }

  async function objectStoreContains(needle: string): Promise<boolean> {
    const files = await fs.readdir(h.objectDir, { recursive: true }).catch(() => [] as string[]);
    for (const f of files) {
      const full = path.join(h.objectDir, String(f));
      if ((await fs.stat(full)).isFile() && (await fs.readFile(full)).includes(needle)) return true;
    }
    return false;
  }

  const audit = async (mailboxKey: string) => {
    const res = await fetch(
      `${h.gateway.url.replace('localhost', '127.0.0.1')}/internal/mailboxes/${encodeURIComponent(mailboxKey)}/audit`,
      { method: 'POST', headers: { authorization: `Bearer ${h.internalApiToken}` } },
    );
    expect(res.status).toBe(200);
    return (await res.json()) as {
      providerMessages: number;
      accounted: { synced: number; notSynced: number; skipped: number; quarantined: number };
      missing: number;
      status: string;
    };
  };

  it.each([
    ['Gmail', SAM, 'google', 'alerts@mail.bank.example'],
    ['Outlook ($batch MIME)', SAM_OUTLOOK, 'microsoft', 'doctor@clinic.example'],
  ] as const)(
    'SYN-8: %s — excluded mail never reaches a table, the object store or a topic; the ledger and the audit account for it',
    async (_name, owner, provider, excludedSender) => {
      const marker = `EXCLUDED-${randomUUID()}`;
      const excluded = await h.sandbox.control.deliver(owner, {
        from: `Private <${excludedSender}>`,
        subject: `Statement ${marker}`,
        text: `Your balance ${marker}`,
        attachments: [
          {
            filename: 'statement.txt',
            content: Buffer.from(`attachment ${marker}`),
            contentType: 'text/plain',
          },
        ],
      });
      const keptMarker = `KEPT-${randomUUID()}`;
      const kept = await h.sandbox.control.deliver(owner, { from: ALEX, subject: 'Kept', text: keptMarker });
      await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === kept.message.id);
      const id = excluded.message.id;
      await expectEventually(async () => {
        const rows = await h.query(
          `SELECT outcome, rule, reason FROM mail_gateway.message_ledger WHERE provider_message_id = $1`,
          [id],
        );
        expect(rows).toEqual([{ outcome: 'not_synced', rule: 'SYN-8', reason: 'excluded' }]);
      });

      // Tables: the ledger row (ids and codes) is the only trace; nothing holds the content or the sender.
      // (The exclusion list itself names the address: it is the CRM's setting, not mail.)
      const rows = (await everyRow()).filter((r) => r.table !== 'mail_gateway.sync_exclusions');
      expect(rows.filter((r) => r.row.includes(marker) || r.row.includes(excludedSender))).toEqual([]);
      expect(rows.filter((r) => r.row.includes(id)).map((r) => r.table)).toEqual([
        'mail_gateway.message_ledger',
      ]);
      // Topics: nothing mail-gateway published holds its content or sender; only Graph's own change notification
      // (handed off by the webhook before anything is fetched: a resource path, no content) names its id.
      const published = JSON.stringify(h.log.events);
      expect(published).toContain(kept.message.id);
      expect(published).not.toContain(marker);
      expect(published).not.toContain(excludedSender);
      const naming = h.log.events.filter((e) => JSON.stringify(e).includes(id)).map((e) => e.type);
      expect(naming.filter((t) => t !== 'mailbox.notification-received')).toEqual([]);
      // Object store: neither the raw MIME nor the attachment (the kept message's raw MIME is there: the check works).
      expect(await objectStoreContains(marker)).toBe(false);
      expect(await objectStoreContains(keptMarker)).toBe(true);

      // The completeness audit counts it as accounted (not_synced), nothing missing.
      await new Promise((r) => setTimeout(r, GRACE_MS + 1_200));
      const report = await audit(`${provider}:${owner}`);
      expect(report.missing).toBe(0);
      expect(report.accounted.notSynced).toBeGreaterThanOrEqual(1);
      expect(report.status).toBe('complete');
    },
    90_000,
  );

  it('SYN-8: mail that no list excludes still syncs, from a look-alike domain too', async () => {
    const near = await h.sandbox.control.deliver(SAM, {
      from: 'info@notbank.example',
      subject: 'Look-alike',
      text: 'not the bank',
    });
    await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === near.message.id);
  }, 60_000);

  it('SYN-8: a change applies to mail read from then on: once the domain is off the list its mail syncs again, and what was refused before stays refused', async () => {
    const before = await h.sandbox.control.deliver(SAM, {
      from: 'a@bank.example',
      subject: 'Before',
      text: 'b',
    });
    await expectEventually(async () => {
      const rows = await h.query(
        `SELECT reason FROM mail_gateway.message_ledger WHERE provider_message_id = $1`,
        [before.message.id],
      );
      expect(rows).toEqual([{ reason: 'excluded' }]);
    });
    await h.publish(
      eventCatalog.create(syncExclusionsChangedV1, {
        locationId: LOC,
        scope: 'location',
        connectionId: null,
        userId: null,
        addresses: [],
        domains: [],
        betweenLocationUsers: false,
        revision: 3,
        changedAt: new Date().toISOString(),
      }),
    );
    await expectEventually(async () => {
      const [row] = await h.query<{ revision: number }>(
        `SELECT revision FROM mail_gateway.sync_exclusions WHERE scope_key = $1`,
        [`location:${LOC}`],
      );
      expect(row?.revision).toBe(3);
    });
    const after = await h.sandbox.control.deliver(SAM, {
      from: 'a@bank.example',
      subject: 'After',
      text: 'a',
    });
    await h.log.waitFor(messageObservedV1, (p) => p.message.providerMessageId === after.message.id);
    expect(h.log.of(messageObservedV1, (p) => p.message.providerMessageId === before.message.id)).toEqual([]);
  }, 60_000);
});
