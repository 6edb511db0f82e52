import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { ALL_TOPICS } from '@mailbridge/contracts';
import { CrmUser, createMailbox, eventually, waitUntilObserved } from './harness/crm';
import { Platform, api, startPlatform } from './harness/platform.harness';
import { topicEvents } from './harness/topics';

jest.setTimeout(300_000);

/** Every row of every table of every schema (the four services' and anything else), as text. */
async function everyRow(url: string): Promise<Array<{ table: string; row: string }>> {
  const client = new Client(url);
  await client.connect();
  try {
    const tables = (
      await client.query<{ s: string; t: string }>(
        `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
         WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
      )
    ).rows;
    const out: Array<{ table: string; row: string }> = [];
    for (const { s, t } of tables) {
      const rows = (await client.query<{ row: string }>(`SELECT x::text AS row FROM "${s}"."${t}" x`)).rows;
      out.push(...rows.map((r) => ({ table: `${s}.${t}`, row: r.row })));
    }
    return out;
  } finally {
    await client.end();
  }
}

async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const files = await fs.readdir(dir, { recursive: true }).catch(() => [] as string[]);
  const hits: string[] = [];
  for (const f of files) {
    const full = path.join(dir, String(f));
    if ((await fs.stat(full)).isFile() && (await fs.readFile(full)).includes(needle)) hits.push(String(f));
  }
  return hits;
}

describe('exclusions (SYN-8, e2e, Gmail)', () => {
  let platform: Platform;
  beforeAll(async () => {
    platform = await startPlatform({
      label: 'exclusions',
      // Raw MIME kept (STORE_RAW_MESSAGES), so "no raw MIME of it" below is a real check.
      env: { AUDIT_INTERVAL_MINUTES: '0', AUDIT_GRACE_MINUTES: '0.05', STORE_RAW_MESSAGES: 'true' },
    });
  });
  afterAll(async () => {
    await platform?.stop();
  });

  it("SYN-8, SYN-10: the location's excluded domain — its mail reaches no table of any service, no topic and no stored bytes; the audit counts it accounted", async () => {
    const sam = createMailbox(platform, 'google', 'sam');
    const casey = createMailbox(platform, 'google', 'casey');
    const crm = new CrmUser(platform, 'loc_ex1', 'usr_sam');
    await crm.connect('google', sam);
    await waitUntilObserved(platform, sam);
    // The bank is even a contact: without the exclusion its mail would sync (contact_mail, SYN-3).
    await crm.putContact('ct_bank', {
      email: 'alerts@bank.example',
      name: 'Bank',
      assignedUserId: 'usr_sam',
    });
    await crm.putContact('ct_casey', { email: casey, name: 'Casey', assignedUserId: 'usr_sam' });
    await crm.contactsProjected(['ct_bank', 'ct_casey']);

    const put = await api<{ domains: string[]; revision: number }>(
      `${platform.urls.conversations}/v1/locations/loc_ex1/sync-exclusions`,
      { method: 'PUT', token: crm.token, body: { addresses: [], domains: ['bank.example'] } },
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ domains: ['bank.example'], revision: 1 });
    const bad = await api<{ error: { code: string } }>(
      `${platform.urls.conversations}/v1/locations/loc_ex1/sync-exclusions`,
      { method: 'PUT', token: crm.token, body: { addresses: ['not an address'], domains: [] } },
    );
    expect({ status: bad.status, code: bad.body.error.code }).toEqual({
      status: 400,
      code: 'invalid_request',
    });
    // Changes apply to mail read after mail-gateway has the list (inspection of its projection only).
    await eventually(async () => {
      const rows = (await everyRow(platform.databaseUrl)).filter(
        (r) => r.table === 'mail_gateway.sync_exclusions',
      );
      expect(rows.map((r) => r.row).join()).toContain('bank.example');
    });

    const marker = `EXCLUDED-${randomUUID()}`;
    const excluded = await platform.sandbox.control.deliver(sam, {
      from: 'Bank <alerts@mail.bank.example>',
      subject: `Statement ${marker}`,
      text: `Balance ${marker}`,
    });
    const keptMarker = `KEPT-${randomUUID()}`;
    const kept = await platform.sandbox.control.deliver(sam, {
      from: casey,
      subject: 'Kept',
      text: keptMarker,
    });
    await eventually(async () =>
      expect((await crm.messages('ct_casey')).map((m) => m.subject)).toContain('Kept'),
    );

    // The completeness audit (SYN-10) sees both provider messages, nothing missing: the excluded one is accounted.
    await new Promise((r) => setTimeout(r, 4_000)); // past AUDIT_GRACE_MINUTES (3 s)
    const auditUrl = `${platform.urls['identity-connections']}/v1/locations/loc_ex1/users/usr_sam/email-connection/audit`;
    const report = await eventually(async () => {
      const res = await api<{
        missing: number;
        accounted: { notSynced: number; synced: number };
        status: string;
      }>(auditUrl, { method: 'POST', token: crm.token });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('complete');
      return res.body;
    });
    expect(report.missing).toBe(0);
    expect(report.accounted.notSynced).toBeGreaterThanOrEqual(1);

    // Raw rows of every schema: the content never, the provider id only as the ledger's outcome.
    const rows = await everyRow(platform.databaseUrl);
    expect(rows.filter((r) => r.row.includes(marker))).toEqual([]);
    const naming = rows.filter((r) => r.row.includes(excluded.message.id));
    expect(naming.map((r) => r.table)).toEqual(['mail_gateway.message_ledger']);
    expect(naming[0].row).toContain('not_synced');
    expect(naming[0].row).toContain('SYN-8');
    expect(naming[0].row).toContain('excluded');
    expect(rows.some((r) => r.row.includes(kept.message.id))).toBe(true);
    // Every topic: nothing carries it.
    for (const topic of ALL_TOPICS) {
      const text = JSON.stringify(await topicEvents(platform, topic));
      expect({ topic, marker: text.includes(marker), id: text.includes(excluded.message.id) }).toEqual({
        topic,
        marker: false,
        id: false,
      });
    }
    // Stored bytes: no raw MIME of it (the kept message's raw MIME is there: the check works).
    expect(await filesContaining(platform.objectStoreDir, marker)).toEqual([]);
    expect(await filesContaining(platform.objectStoreDir, keptMarker)).toHaveLength(1);
    // The CRM shows nothing of it.
    expect(await crm.messages('ct_bank')).toEqual([]);
  });
});
