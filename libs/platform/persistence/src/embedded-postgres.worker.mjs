// Runs PGlite and its Postgres-wire server on a worker thread: PGlite executes queries synchronously in WASM, and
// here that blocks only this thread, not the services' event loop. Plain ESM because PGlite loads its parts with
// dynamic import().
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const { dataDir, host, port, maxConnections } = workerData;

// Extended-protocol messages that continue a sequence ending with Sync ('S'): Parse, Bind, Describe, Execute, Close, Flush.
const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]);
// Those of them held until the sequence's Sync: all but Flush, whose point is to have the replies so far sent now.
const HELD = new Set([0x50, 0x42, 0x44, 0x45, 0x43]);
const TERMINATE = 0x58; // 'X'

/**
 * Where this thread's time goes, by SQL text: off until the bench's probe (tools/bench/probe.cjs) asks for it on this
 * channel, then cumulative; each request writes pglite-<pid>.json into the folder it names.
 */
function workerStats(db) {
  const byText = new Map();
  const current = new Map(); // handlerId -> SQL text of its open Parse … Sync sequence
  const stats = { enabled: false, record: () => {} };
  const channel = new BroadcastChannel('mailbridge:bench-pglite');
  channel.unref();
  channel.onmessage = ({ data }) => {
    stats.enabled = true;
    const file = path.join(data.dir, `pglite-${process.pid}.json`);
    const body = { seq: data.seq, tid: Number(fs.readlinkSync('/proc/thread-self').split('/').pop()) };
    // PGlite's WebAssembly memory only grows: a step here is a step of the process's RSS.
    body.wasmMemoryBytes = db.Module?.HEAPU8?.length ?? null;
    body.statements = Object.fromEntries(byText);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(body));
    fs.renameSync(`${file}.tmp`, file);
  };
  stats.record = (handlerId, message, ms, syncMs, bytesOut) => {
    let text;
    let last = 0;
    for (let at = 0; at + 5 <= message.length;) {
      const type = message[at];
      const end = at + 1 + new DataView(message.buffer, message.byteOffset + at + 1, 4).getInt32(0);
      if (type === 0x50 || type === 0x51) {
        // Parse: name\0 query\0 …; Query: query\0
        let from = at + 5;
        if (type === 0x50) from = message.indexOf(0, from) + 1;
        const sql = Buffer.from(message.subarray(from, message.indexOf(0, from))).toString();
        text ??= sql.replace(/\s+/g, ' ').trim();
        current.set(handlerId, text);
      }
      last = type;
      at = end;
    }
    text ??= current.get(handlerId) ?? '(no statement: startup, Sync, other)';
    if (last === 0x53 || last === 0x51) current.delete(handlerId);
    const key = byText.has(text) || byText.size < 2000 ? text : '(other)';
    const s = byText.get(key) ?? { calls: 0, ms: 0, syncToFsMs: 0, bytesIn: 0, bytesOut: 0 };
    s.calls++;
    s.ms += ms;
    s.syncToFsMs += syncMs;
    s.bytesIn += message.length;
    s.bytesOut += bytesOut;
    byText.set(key, s);
  };
  return stats;
}

/**
 * pglite-socket 0.2.17 multiplexes connections onto PGlite message by message, keeping one connection's turn only
 * inside a transaction. Outside one, two connections' Parse/Bind/Execute interleave on the single backend and a Bind
 * meets another connection's unnamed statement ("bind message supplies 1 parameters, but prepared statement ...").
 * This holds a connection's Parse/Bind/Describe/Execute/Close until its Sync (or Flush, or any other message) and
 * hands PGlite the whole sequence in ONE call: one pass of PGlite's main loop, flush and ReadyForQuery check per
 * sequence instead of per message, and no other connection can come between. The queue loop keeps the turn inside a
 * transaction (and after a Flush, until that connection's Sync), and an error does not stall the queue. The version
 * is pinned in package.json; the check below fails loudly if the internals it relies on change.
 */
function keepExtendedQueriesTogether(server, stats) {
  const queue = server.queryQueue;
  if (
    !queue ||
    typeof queue.processQueue !== 'function' ||
    typeof queue.enqueue !== 'function' ||
    typeof queue.clearQueueForHandler !== 'function' ||
    !Array.isArray(queue.queue) ||
    !queue.db
  ) {
    throw new Error('pglite-socket internals changed: review keepExtendedQueriesTogether before upgrading');
  }
  let midSequence = false;
  // Messages of a sequence not yet ended by the client, by connection: never seen by PGlite until that end arrives.
  const held = new Map();
  let inFlight = null; // the connection whose messages PGlite is running now
  let leftInFlight = null; // that connection, if it closed meanwhile
  // The socket handler awaits each message's promise before passing the next: a held one is answered at once (it has
  // no reply of its own before Sync or Flush; the replies come with the sequence's last message).
  queue.enqueue = function enqueue(handlerId, message, onData) {
    const type = message[0];
    const before = held.get(handlerId);
    if (type === TERMINATE) {
      // Never glued to held messages: PGlite handles a Terminate alone (the backend is shared by every connection).
      held.delete(handlerId);
    } else if (HELD.has(type)) {
      if (before) before.push(message);
      else held.set(handlerId, [message]);
      return Promise.resolve(0);
    } else if (before) {
      held.delete(handlerId);
      before.push(message);
      message = new Uint8Array(Buffer.concat(before));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, last: type, resolve, reject, timestamp: Date.now(), onData });
      if (!this.processing) void this.processQueue();
    });
  };
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
        inFlight = query.handlerId;
        let size = 0;
        const counted = stats.enabled; // turned on by a message that may arrive while this call awaits
        const t0 = counted ? performance.now() : 0;
        let t1 = 0;
        try {
          await this.db.runExclusive(async () => {
            await this.db.execProtocolRawStream(query.message, {
              syncToFs: false,
              onRawData: (data) => {
                size += data.length;
                query.onData(data);
              },
            });
            if (counted) t1 = performance.now();
            // A no-op with NodeFS and the in-memory FS (data reach the folder as Postgres writes them).
            await this.db.syncToFs();
          });
        } catch (error) {
          midSequence = false;
          inFlight = null;
          leftInFlight = null;
          query.reject(error);
          continue;
        }
        if (counted) {
          const t2 = performance.now();
          stats.record(query.handlerId, query.message, t2 - t0, t2 - t1, size);
        }
        if (leftInFlight === query.handlerId) {
          // Its connection closed during this call: it must not keep the turn (clearQueueForHandler already ran).
          leftInFlight = null;
          if (!this.db.isInTransaction()) {
            midSequence = false;
            this.lastHandlerId = null;
          }
        } else {
          this.lastHandlerId = query.handlerId;
          midSequence = EXTENDED.has(query.last);
        }
        inFlight = null;
        query.resolve(size);
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId) => {
    held.delete(handlerId);
    if (inFlight === handlerId) leftInFlight = handlerId;
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
  keepExtendedQueriesTogether(server, workerStats(db));
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
