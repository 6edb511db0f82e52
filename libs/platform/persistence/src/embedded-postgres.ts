import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

export interface EmbeddedPostgres {
  /** `postgres://` URL the `pg` driver (and TypeORM) connect to, exactly as to a real server. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Folder the data lives in across restarts; omitted = in memory (tests). */
  readonly dataDir?: string;
  readonly host?: string;
  /** 0 = any free port. */
  readonly port?: number;
  /** The server multiplexes connections onto PGlite's single backend; the pools of every service share this. */
  readonly maxConnections?: number;
}

/**
 * URLs of the embedded servers this process started and has not stopped: their connections share one session, so a
 * named prepared statement of one would collide with another's (see `preparesStatements`).
 */
const sharedSessionUrls = new Set<string>();

/** True when `url` is an embedded PGlite server of this process (all its connections share one backend session). */
export function isSharedSessionUrl(url: string): boolean {
  return sharedSessionUrls.has(url);
}

type WorkerMessage = { ready: true; port: number } | { error: string } | { stopped: true };

/**
 * PostgreSQL for the embedded default: PGlite (real Postgres compiled to WASM) served over the Postgres wire protocol
 * from a worker thread, so the same `pg` driver, entities and migrations run as in production.
 *
 * Two facts of PGlite's connection multiplexer shape the rest of the platform: all connections share ONE backend session
 * (so nothing may rely on session state such as `search_path` — every table is schema-qualified), and an open
 * transaction holds the backend exclusively until it ends (so no code may await the bus while a transaction is open).
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : undefined;
  if (dataDir) await fs.mkdir(dataDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const worker = new Worker(path.join(__dirname, 'embedded-postgres.worker.mjs'), {
    workerData: { dataDir, host, port: options.port ?? 0, maxConnections: options.maxConnections ?? 64 },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (msg: WorkerMessage) => {
      if ('ready' in msg) resolve(msg.port);
      else if ('error' in msg) reject(new Error(`Embedded PostgreSQL did not start: ${msg.error}`));
    };
    worker.once('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`Embedded PostgreSQL worker exited with code ${code}`)));
  });
  let stopped: Promise<void> | undefined;
  const url = `postgres://postgres@${host}:${port}/postgres`;
  sharedSessionUrls.add(url);
  return {
    url,
    stop() {
      sharedSessionUrls.delete(url);
      stopped ??= new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.once('exit', () => resolve());
        worker.postMessage('stop');
      }).then(async () => {
        await worker.terminate();
      });
      return stopped;
    },
  };
}
