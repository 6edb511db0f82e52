// Runs PGlite and its Postgres-wire server on a worker thread: PGlite executes queries synchronously in WASM, and
// here that blocks only this thread, not the services' event loop. Plain ESM because PGlite loads its parts with
// dynamic import().
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { dataDir, host, port, maxConnections } = workerData;

// Extended-protocol messages that continue a sequence ending with Sync ('S'): Parse, Bind, Describe, Execute, Close, Flush.
const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]);

/**
 * pglite-socket 0.2.17 multiplexes connections onto PGlite message by message, keeping one connection's turn only
 * inside a transaction. Outside one, two connections' Parse/Bind/Execute interleave on the single backend and a Bind
 * meets another connection's unnamed statement ("bind message supplies 1 parameters, but prepared statement ...").
 * This replaces its queue loop with the same loop that also keeps a connection's turn from Parse to Sync, and that
 * does not stall the queue when a query throws. The version is pinned in package.json; the check below fails loudly
 * if the internals it relies on change.
 */
function keepExtendedQueriesTogether(server) {
  const queue = server.queryQueue;
  if (!queue || typeof queue.processQueue !== 'function' || !Array.isArray(queue.queue) || !queue.db) {
    throw new Error('pglite-socket internals changed: review keepExtendedQueriesTogether before upgrading');
  }
  let midSequence = false;
  queue.processQueue = async function processQueue() {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        let query;
        if ((midSequence || this.db.isInTransaction()) && this.lastHandlerId) {
          const i = this.queue.findIndex((q) => q.handlerId === this.lastHandlerId);
          if (i === -1) break; // wait for that connection's next message
          query = this.queue.splice(i, 1)[0];
        } else {
          query = this.queue.shift();
        }
        let size = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(query.message, {
              onRawData: (data) => {
                size += data.length;
                query.onData(data);
              },
            }),
          );
        } catch (error) {
          midSequence = false;
          query.reject(error);
          continue;
        }
        this.lastHandlerId = query.handlerId;
        midSequence = EXTENDED.has(query.message[0]);
        query.resolve(size);
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId) => {
    clear(handlerId);
    // A connection that left mid-sequence must not hold the backend.
    if (queue.lastHandlerId === handlerId && !queue.db.isInTransaction()) {
      midSequence = false;
      queue.lastHandlerId = null;
      setImmediate(() => void queue.processQueue());
    }
  };
}

try {
  const db = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    extensions: { pgcrypto },
    // Postgres memory for one embedded machine. PGlite's WASM memory grows in steps and never shrinks, so its high
    // water stays resident: 128 MB of shared buffers (the default) fill as the data grows although the OS page cache
    // already holds the data files, and a migration's index build may take up to maintenance_work_mem. PGlite's own
    // start parameters (single user, no parallel workers, ...) are kept.
    startParams: [
      ...PGlite.defaultStartParams,
      ...['-c', 'shared_buffers=32MB', '-c', 'maintenance_work_mem=16MB'],
    ],
  });
  const server = new PGLiteSocketServer({ db, host, port, maxConnections });
  keepExtendedQueriesTogether(server);
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
