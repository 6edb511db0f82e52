import { transformFileSync } from '@swc/core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectEventually } from './expect-eventually';
import { startKafkaMockCluster } from './kafka-mock-cluster';

function canConnect(server: string): Promise<boolean> {
  const [host, port] = server.split(':');
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startKafkaMockCluster', () => {
  it('starts the requested number of brokers and frees them on stop', async () => {
    const cluster = await startKafkaMockCluster({ brokers: 2 });
    expect(cluster.bootstrapServers).toHaveLength(2);
    for (const server of cluster.bootstrapServers) expect(await canConnect(server)).toBe(true);

    await cluster.stop();
    for (const server of cluster.bootstrapServers) expect(await canConnect(server)).toBe(false);
    await cluster.stop(); // idempotent
  });

  it('does not outlive a parent process killed with SIGKILL', async () => {
    // The parent is a plain node process running the compiled helper, so it can be killed without cleanup.
    const dir = mkdtempSync(join(tmpdir(), 'kafka-mock-'));
    try {
      const { code } = transformFileSync(join(__dirname, 'kafka-mock-cluster.ts'), {
        module: { type: 'commonjs' },
        jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      });
      writeFileSync(join(dir, 'kafka-mock-cluster.js'), code);
      const parent = spawn(
        process.execPath,
        [
          '-e',
          `require('./kafka-mock-cluster.js').startKafkaMockCluster()
             .then((c) => { process.stdout.write(JSON.stringify(c.bootstrapServers) + '\\n'); setInterval(() => {}, 1000); });`,
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const servers = await new Promise<string[]>((resolve, reject) => {
        let out = '';
        parent.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(JSON.parse(out) as string[]);
        });
        parent.once('exit', (exitCode) => reject(new Error(`parent exited early (${exitCode})`)));
      });
      expect(await canConnect(servers[0])).toBe(true);

      parent.kill('SIGKILL');
      await expectEventually(async () => expect(await canConnect(servers[0])).toBe(false), {
        timeoutMs: 15_000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says how to install kcat when it is missing', async () => {
    await expect(startKafkaMockCluster({ command: 'kcat-not-installed-here' })).rejects.toThrow(
      /apt-get install kcat/,
    );
  });
});
