import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SpawnedProcess, WORKSPACE_ROOT, buildApp, spawnNode } from '@mailbridge/testing';

jest.setTimeout(300_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The sandbox walkthrough a newcomer follows (README): `npm start` (the embedded default, no configuration), then
 * `npm run demo -- walkthrough` in a second terminal, then `npm run demo -- show`.
 */
describe('the sandbox walkthrough: npm start + npm run demo (e2e)', () => {
  let dataDir: string;
  let platform: SpawnedProcess | undefined;

  beforeAll(async () => {
    const entry = await buildApp('apps/embedded');
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mb-walkthrough-'));
    platform = spawnNode(entry, [], {
      MAILBRIDGE_DATA_DIR: dataDir,
      MAILBRIDGE_PORT_BASE: '0',
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'warn',
    });
    await platform.waitFor(/Mint a CRM token/, 120_000);
  });
  afterAll(async () => {
    await platform?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  /** `npm run demo -- <command>`, as the newcomer types it in the second terminal (same data folder). */
  const demo = (command: string) =>
    new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [path.join(WORKSPACE_ROOT, 'tools', 'demo.mjs'), command],
        {
          cwd: WORKSPACE_ROOT,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, MAILBRIDGE_DATA_DIR: dataDir },
          timeout: 240_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('SYN-1, SYN-2, CON-1: the walkthrough connects Sam’s sandbox Gmail, sends from the CRM, Casey replies from her mailbox, and the CRM conversation shows the CRM email as outbound and her reply as inbound', async () => {
    const walkthrough = await demo('walkthrough');
    // On failure, show what the demo printed and every error the platform logged.
    const errors = `${platform!.stdout()}\n${platform!.stderr()}`
      .split('\n')
      .filter((line) => /"level":"(error|fatal)"|Error/.test(line))
      .map((line) => line.slice(0, 1500));
    const context = `stdout:\n${walkthrough.stdout}\nstderr:\n${walkthrough.stderr}\nplatform errors:\n${errors.join('\n')}`;
    if (walkthrough.code !== 0) process.stdout.write(`walkthrough failed\n${context}\n`);
    expect([walkthrough.code, context]).toEqual([0, context]);
    expect(walkthrough.stdout).toContain(
      'connected sam@gmail.sandbox.mailbridge.test (google) for usr_demo in loc_demo: active',
    );
    expect(walkthrough.stdout).toMatch(
      /Casey-> \[mailbox\/received\] Re: Your quote: Thanks Sam, looks good!/,
    );

    const show = await demo('show');
    expect(show.code).toBe(0);
    const lines = show.stdout.split('\n').filter((l) => /->/.test(l));
    expect([lines.length, show.stdout]).toEqual([2, show.stdout]);
    // SYN-6: the CRM email first, then Casey's reply to it.
    expect(lines[0]).toMatch(
      /Sam {2}-> \[crm\/sent\] Your quote: Hi Casey, here is the quote we discussed\./,
    );
    expect(lines[1]).toMatch(/Casey-> \[mailbox\/received\] Re: Your quote: Thanks Sam, looks good!/);
  });
});
