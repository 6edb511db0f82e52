import { ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Builds an app exactly as CI and the Dockerfile do (`tools/build.mjs`), returning its entry file. Once per test run
 * (jest's global setup names the run): test files run in parallel workers, and a rebuild would delete the files of
 * processes another file is running. A lock file keeps two workers from building the same app at once.
 */
export async function buildApp(projectRoot: string): Promise<string> {
  const entry = path.join(WORKSPACE_ROOT, 'dist', projectRoot, projectRoot, 'src', 'main.js');
  const runId = process.env.MAILBRIDGE_TEST_RUN_ID ?? `pid-${process.pid}`;
  const marker = path.join(WORKSPACE_ROOT, 'dist', projectRoot, `.built-${runId}`);
  const lock = path.join(WORKSPACE_ROOT, 'dist', `.${projectRoot.replace(/\//g, '_')}.build-lock`);
  await fs.mkdir(path.dirname(lock), { recursive: true });
  const release = await acquireLock(lock);
  try {
    if (await exists(marker)) return entry;
    await promisify(execFile)(
      process.execPath,
      [path.join(WORKSPACE_ROOT, 'tools', 'build.mjs'), projectRoot],
      {
        cwd: WORKSPACE_ROOT,
      },
    );
    await fs.writeFile(marker, '');
    return entry;
  } finally {
    await release();
  }
}

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  );

async function acquireLock(file: string, staleMs = 180_000): Promise<() => Promise<void>> {
  for (;;) {
    try {
      const handle = await fs.open(file, 'wx');
      await handle.close();
      return () => fs.rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A worker that died holding the lock must not block the run forever.
      const age = await fs.stat(file).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age > staleMs) await fs.rm(file, { force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface SpawnedProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** Resolves when stdout matches, rejects if the process exits first or the timeout passes. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<number | string>;
}

/** Runs a Node program of ours on the same Node binary as the tests (Node 24). */
export function spawnNode(
  entry: string,
  args: string[],
  env: Record<string, string | undefined>,
): SpawnedProcess {
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: WORKSPACE_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`Timed out waiting for ${pattern}; stdout:\n${out}\nstderr:\n${err}`)),
          timeoutMs,
        );
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            clearTimeout(timer);
            child.stdout!.off('data', check);
            resolve(m);
          }
        };
        child.stdout!.on('data', check);
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`Process exited (${code}) before ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
        });
        check();
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
