// Processes the soak starts: the sandbox providers, the embedded platform or the four services. Each one writes its
// output to a log file (no pipe to drain), is killed by its own pid, and is stopped when the soak ends however it ends.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { NODE_FLAGS } from './node-flags';

export const ROOT = path.resolve(__dirname, '..', '..');

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function build(projectRoot: string): string {
  execFileSync(process.execPath, [path.join(ROOT, 'tools', 'build.mjs'), projectRoot], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return path.join(ROOT, 'dist', projectRoot, projectRoot, 'src', 'main.js');
}

export class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly entry: string,
    private readonly env: Record<string, string>,
    private readonly logFile: string,
  ) {}

  /** The operating-system process id while it runs (the bench reads its CPU time and RSS from /proc). */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n===== ${this.name} started ${new Date().toISOString()} =====\n`);
    const child = spawn(process.execPath, [...NODE_FLAGS, this.entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.env },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    children.add(child);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        children.delete(child);
        resolve();
      }),
    );
    this.child = child;
  }

  /** kill -9: no shutdown hook runs. */
  async kill(): Promise<void> {
    if (!this.child || !this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.child || !this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  tail(lines = 20): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base B with B+1..B+4 free: the embedded platform must come back on the same ports after a kill (OAuth redirect
 * URIs, the Pub/Sub push endpoint and Graph subscriptions name them), so it cannot take any free port at each start.
 */
export async function freePortBase(random: () => number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the kernel's ephemeral range (32768+), where outgoing connections and `listen(0)` take ports.
    const base = 20_000 + Math.floor(random() * 12_000);
    const free = await Promise.all([1, 2, 3, 4].map((i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free block of 4 ports found between 20000 and 32000');
}

/** Thrown by a `waitFor` check to stop waiting at once (e.g. the process being waited for exited). */
export class GaveUp extends Error {}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch((error: unknown) => {
      if (error instanceof GaveUp) throw error;
      return undefined;
    });
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
