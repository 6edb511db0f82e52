import { ChildProcess, execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Builds an app exactly as CI and the Dockerfile do (`tools/build.mjs`), returning its entry file. */
export async function buildApp(projectRoot: string): Promise<string> {
  await promisify(execFile)(
    process.execPath,
    [path.join(WORKSPACE_ROOT, 'tools', 'build.mjs'), projectRoot],
    {
      cwd: WORKSPACE_ROOT,
    },
  );
  return path.join(WORKSPACE_ROOT, 'dist', projectRoot, projectRoot, 'src', 'main.js');
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
