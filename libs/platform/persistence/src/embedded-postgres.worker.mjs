// Runs PGlite and its Postgres-wire server on a worker thread: PGlite executes queries synchronously in WASM, and
// here that blocks only this thread, not the services' event loop. Plain ESM because PGlite loads its parts with
// dynamic import().
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { dataDir, host, port, maxConnections } = workerData;

try {
  const db = await PGlite.create({ ...(dataDir ? { dataDir } : {}), extensions: { pgcrypto } });
  const server = new PGLiteSocketServer({ db, host, port, maxConnections });
  await server.start();
  const actualPort = Number(server.getServerConn().split(':').pop());
  parentPort.on('message', async (msg) => {
    if (msg !== 'stop') return;
    try {
      await server.stop();
      await db.close();
    } finally {
      parentPort.postMessage({ stopped: true });
    }
  });
  parentPort.postMessage({ ready: true, port: actualPort });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
