import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { buildApp, expectEventually, spawnNode, SpawnedProcess } from '@mailbridge/testing';

/** `npm start` on a fresh machine: the four services in one process, no configuration. */
describe('embedded default (npm start)', () => {
  let entry: string;
  let dataDir: string;
  let proc: SpawnedProcess | undefined;

  beforeAll(async () => {
    entry = await buildApp('apps/embedded');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-embedded-'));
  }, 60_000);
  afterAll(async () => {
    await proc?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  async function start() {
    proc = spawnNode(entry, [], {
      MAILBRIDGE_DATA_DIR: dataDir,
      MAILBRIDGE_PORT_BASE: '0',
      LOG_LEVEL: 'warn',
    });
    await proc.waitFor(/Mint a CRM token/, 90_000);
    const state = JSON.parse(await fs.readFile(path.join(dataDir, 'embedded.json'), 'utf8')) as {
      urls: Record<string, string>;
    };
    const secrets = JSON.parse(await fs.readFile(path.join(dataDir, 'secrets.json'), 'utf8')) as {
      authJwtSecret: string;
      internalApiToken: string;
    };
    return { urls: state.urls, secrets };
  }

  const projection = async (url: string, internalApiToken: string) => {
    const res = await fetch(`${url}/internal/contacts?locationId=loc_demo`, {
      headers: { Authorization: `Bearer ${internalApiToken}` },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { items: Array<{ contactId: string; email: string }> }).items;
  };

  it('prints its URLs, takes a contact through the in-process bus into the projection, and keeps it across a restart', async () => {
    const { urls, secrets } = await start();
    expect(Object.keys(urls).sort()).toEqual([
      'conversations',
      'identity-connections',
      'mail-gateway',
      'sync-engine',
    ]);
    expect(proc!.stdout()).toContain('npm run token');
    // No provider credentials configured: the emulators stand in for Google and Microsoft.
    expect(proc!.stdout()).toMatch(/Sandbox providers .*Gmail http:\/\/127\.0\.0\.1:\d+/);
    for (const url of Object.values(urls)) expect((await fetch(`${url}/health/ready`)).status).toBe(200);

    const token = jwt.sign({ loc: 'loc_demo' }, secrets.authJwtSecret, {
      subject: 'usr_demo',
      algorithm: 'HS256',
    });
    const put = await fetch(`${urls.conversations}/v1/locations/loc_demo/contacts/ct_jane`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'Jane@Example.com', assignedUserId: 'usr_demo' }),
    });
    expect(put.status).toBe(201);
    const started = Date.now();
    await expectEventually(
      async () =>
        expect(await projection(urls['sync-engine'], secrets.internalApiToken)).toEqual([
          expect.objectContaining({ contactId: 'ct_jane', email: 'jane@example.com' }),
        ]),
      { timeoutMs: 15_000, intervalMs: 20 },
    );
    process.stdout.write(`embedded: contact visible in the projection after ${Date.now() - started} ms\n`);

    expect(await proc!.stop()).toBe(0);
    const again = await start();
    expect(await projection(again.urls['sync-engine'], again.secrets.internalApiToken)).toEqual([
      expect.objectContaining({ contactId: 'ct_jane' }),
    ]);
    expect(again.secrets.authJwtSecret).toBe(secrets.authJwtSecret);
  }, 180_000);
});
