import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildApp, freePortBase, spawnNode, SpawnedProcess } from '@mailbridge/testing';

/** Tries to listen on a port; resolves with the server when it got it (the caller closes it), undefined when taken. */
function squat(port: number, host = '127.0.0.1'): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', () => resolve(undefined));
    server.listen(port, host, () => resolve(server));
  });
}
const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** The SMTP greeting of whatever listens there. */
function smtpGreeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setTimeout(10_000, () => socket.destroy(new Error('no SMTP greeting in 10 s')));
    socket.once('data', (data) => {
      socket.end('QUIT\r\n');
      resolve(data.toString('utf8'));
    });
    socket.once('error', reject);
  });
}

interface EmbeddedState {
  urls: Record<string, string>;
  listeners: ({ name: string; url: string } | { name: string; off: string })[];
  sandbox: Record<string, string> | null;
}

const portOf = (url: string) => Number(new URL(url).port);

/**
 * `MAILBRIDGE_PORT_BASE=0`: every listener is bound before its port is reported (the services take over sockets the
 * launcher bound to port 0; the sandbox and the Auto-BCC receiver bind port 0 themselves and report what they got), so
 * nothing can take a port between choosing and listening. With a fixed base, the Auto-BCC receiver follows it.
 */
describe('embedded: ports', () => {
  let entry: string;
  let dataDir: string;
  let proc: SpawnedProcess | undefined;
  const squatted: net.Server[] = [];

  beforeAll(async () => {
    entry = await buildApp('apps/embedded');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-embedded-ports-'));
  }, 60_000);
  afterEach(async () => {
    await proc?.stop();
    proc = undefined;
    await Promise.all(squatted.splice(0).map(close));
  });
  afterAll(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string>) =>
    (proc = spawnNode(entry, [], {
      MAILBRIDGE_DATA_DIR: dataDir,
      LOG_FORMAT: 'json',
      ...env,
    }));
  const state = async () =>
    JSON.parse(await fs.readFile(path.join(dataDir, 'embedded.json'), 'utf8')) as EmbeddedState;

  it('base 0, started 3 times with a squatter on every port it can see: each start serves on the ports it reports', async () => {
    for (let round = 1; round <= 3; round++) {
      await fs.rm(path.join(dataDir, 'embedded.json'), { force: true });
      const p = start({ MAILBRIDGE_PORT_BASE: '0', LOG_LEVEL: 'debug' });
      // The moment the ports are known, a squatter tries to take every one of them (what a concurrent test process
      // picking free ports does by chance): they must already be held by the launcher.
      const [line] = await p.waitFor(/\{[^\n]*"listening sockets bound"[^\n]*\}/, 90_000);
      const bound = (JSON.parse(line) as { ports: Record<string, number> }).ports;
      expect(Object.keys(bound).sort()).toEqual([
        'conversations',
        'identity-connections',
        'mail-gateway',
        'sync-engine',
      ]);
      for (const port of Object.values(bound)) {
        const taken = await squat(port);
        if (taken) squatted.push(taken);
        expect({ port, squatterGotIt: !!taken }).toEqual({ port, squatterGotIt: false });
      }
      await p.waitFor(/Mint a CRM token/, 120_000);

      const s = await state();
      for (const [service, url] of Object.entries(s.urls)) {
        expect(portOf(url)).toBe(bound[service]);
        expect((await fetch(`${url}/health/live`)).status).toBe(200);
      }
      const smtp = s.listeners.find((l) => l.name === 'Auto-BCC SMTP');
      expect(smtp && 'url' in smtp ? smtp.url : smtp).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
      const smtpPort = portOf((smtp as { url: string }).url);
      expect(smtpPort).toBeGreaterThan(0);
      expect(smtpPort).not.toBe(2525);
      expect(await smtpGreeting(smtpPort)).toMatch(/^220 /);
      // The banner shows what runs where, the receiver included.
      expect(p.stdout()).toMatch(new RegExp(`Auto-BCC SMTP\\s+smtp://127\\.0\\.0\\.1:${smtpPort}`));
      for (const url of Object.values(s.sandbox ?? {})) expect(portOf(url)).toBeGreaterThan(0);
      expect(Object.keys(s.sandbox ?? {}).length).toBeGreaterThan(0);
      expect(await p.stop()).toBe(0);
    }
  }, 480_000);

  it('a fixed base puts the Auto-BCC receiver on BASE+25, and says it is off (and why) when that port is taken', async () => {
    const base = await freePortBase([1, 2, 3, 4, 25]);
    const blocker = await squat(base + 25);
    expect(blocker).toBeDefined();
    squatted.push(blocker!);
    let p = start({ MAILBRIDGE_PORT_BASE: String(base), MAILBRIDGE_SANDBOX: 'off', LOG_LEVEL: 'warn' });
    await p.waitFor(/Mint a CRM token/, 120_000);
    expect(p.stdout()).toMatch(
      new RegExp(`Auto-BCC SMTP\\s+off: port ${base + 25} \\(MAILBRIDGE_PORT_BASE\\+25\\) is taken`),
    );
    expect((await state()).listeners).toEqual([
      { name: 'Auto-BCC SMTP', off: expect.stringContaining(`port ${base + 25}`) },
    ]);
    expect(await p.stop()).toBe(0);

    await Promise.all(squatted.splice(0).map(close));
    p = start({ MAILBRIDGE_PORT_BASE: String(base), MAILBRIDGE_SANDBOX: 'off', LOG_LEVEL: 'warn' });
    await p.waitFor(/Mint a CRM token/, 120_000);
    expect((await state()).listeners).toEqual([
      { name: 'Auto-BCC SMTP', url: `smtp://127.0.0.1:${base + 25}` },
    ]);
    expect(p.stdout()).toMatch(new RegExp(`Auto-BCC SMTP\\s+smtp://127\\.0\\.0\\.1:${base + 25}`));
    expect(await smtpGreeting(base + 25)).toMatch(/^220 /);
  }, 300_000);
});
