import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import {
  buildApp,
  duplicateJsonKeys,
  expectEventually,
  spawnNode,
  SpawnedProcess,
} from '@mailbridge/testing';

/**
 * The embedded host's operational surface: each of the four services serves its own share of the one shared bus on its
 * /metrics (nothing counted twice, nothing missing), and every line it writes (JSON when stdout is not a terminal)
 * is one object with unique keys.
 */
describe('embedded: metrics per service and log lines', () => {
  let dataDir: string;
  let proc: SpawnedProcess | undefined;

  beforeAll(async () => {
    const entry = await buildApp('apps/embedded');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-embedded-ops-'));
    proc = spawnNode(entry, [], {
      MAILBRIDGE_DATA_DIR: dataDir,
      MAILBRIDGE_PORT_BASE: '0',
      LOG_LEVEL: 'info',
    });
    await proc.waitFor(/Mint a CRM token/, 90_000);
  }, 120_000);
  afterAll(async () => {
    await proc?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('serves the bus series of each service on its own /metrics, and they move', async () => {
    const { urls } = JSON.parse(await fs.readFile(path.join(dataDir, 'embedded.json'), 'utf8')) as {
      urls: Record<string, string>;
    };
    const { authJwtSecret } = JSON.parse(await fs.readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as {
      authJwtSecret: string;
    };
    const scrape = async (service: string) => (await fetch(`${urls[service]}/metrics`)).text();
    for (const service of Object.keys(urls)) {
      const body = await scrape(service);
      for (const name of [
        'mailbridge_events_dead_lettered_total',
        'mailbridge_consumer_lag',
        'mailbridge_dead_letters',
        'mailbridge_outbox_depth',
        'mailbridge_outbox_oldest_age_seconds',
        'mailbridge_quarantine_items',
      ])
        expect(body).toContain(`# TYPE ${name} `);
      // Only its own consumer groups.
      for (const group of body.matchAll(/mailbridge_consumer_lag\{[^}]*group="([^"]+)"/g))
        expect(group[1].startsWith(`${service}.`)).toBe(true);
      expect(body).toMatch(new RegExp(`mailbridge_consumer_lag\\{[^}]*group="${service}\\.`));
    }

    const token = jwt.sign({ loc: 'loc_demo' }, authJwtSecret, { subject: 'usr_demo', algorithm: 'HS256' });
    const put = await fetch(`${urls.conversations}/v1/locations/loc_demo/contacts/ct_ops`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', assignedUserId: 'usr_demo' }),
    });
    expect(put.status).toBe(201);
    await expectEventually(async () => {
      // conversations published it; sync-engine consumed it. Each counted once, by the service it belongs to.
      expect(await scrape('conversations')).toMatch(/mailbridge_events_published_total\{[^}]*\} [1-9]/);
      expect(await scrape('sync-engine')).toMatch(
        /mailbridge_events_consumed_total\{[^}]*group="sync-engine\.[^}]*\} [1-9]/,
      );
    });
    expect(await scrape('sync-engine')).not.toMatch(
      /mailbridge_events_consumed_total\{[^}]*group="conversations\./,
    );
  });

  it('writes every line as one JSON object with unique keys (the banner aside)', async () => {
    expect(await proc!.stop()).toBe(0);
    const lines = proc!.stdout().split('\n').filter(Boolean);
    const first = lines.findIndex((line) => line.startsWith('Mailbridge is running'));
    const last = lines.findIndex((line) => line.startsWith('Mint a CRM token'));
    expect(first).toBeGreaterThanOrEqual(0);
    const outsideBanner = lines.filter((line, i) => !line.startsWith('{') && (i < first || i > last));
    expect(outsideBanner).toEqual([]);
    const json = lines.filter((line) => line.startsWith('{'));
    expect(json.length).toBeGreaterThan(20);
    const bad = json.filter((line) => {
      try {
        return duplicateJsonKeys(line).length > 0;
      } catch {
        return true;
      }
    });
    expect(bad).toEqual([]);
  });
});
