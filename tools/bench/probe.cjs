// Preloaded into the platform's processes by `npm run bench` (NODE_OPTIONS=--expose-gc --require …). Counts what
// each service asks its database: every `pg` Client.query is one round trip; BEGIN/COMMIT/ROLLBACK are transaction
// control, everything else a statement; statements on outbox/inbox tables are the relay's and the bus's share. The
// service is the connection's application name. On SIGUSR2 it does what $BENCH_PROBE_DIR/command says (`count`;
// `gc`: a full collection first; `profile-start` / `profile-stop`: a CPU profile of the main thread, written to
// profile-<pid>-<n>.cpuprofile, and a sampling heap profile of what it allocated, alloc-<pid>-<n>.heapprofile, so both
// cover only the measured window) and writes the counters to sql-<pid>.json.
// With a probe dir it also counts each statement text (normalised: placeholders and value lists folded, so a batch of
// any size is one text), so the report can show what runs per message.
// An embedded process's PGlite worker writes its own counters (pglite-<pid>.json, same seq).
'use strict';
const threads = require('node:worker_threads');

// A memory-reducing full collection: what V8's memory reducer does by itself once an isolate goes idle (it also gives
// back the free pages and new space a plain `gc()` keeps), so a reading is the live memory, not the heap's slack from
// the last burst of work.
function collect() {
  if (typeof global.gc === 'function') global.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
if (!threads.isMainThread) {
  // PGlite's worker: no pg client, no signals. Its isolate is collected and measured when the main thread asks (the
  // reply goes on the port sent along, never on the worker's own channel, which the platform reads).
  threads.parentPort?.on('message', (msg) => {
    if (!msg || msg.benchProbe !== 'gc' || !msg.port) return;
    collect();
    const { heapUsed, heapTotal, external } = process.memoryUsage();
    msg.port.postMessage({ heapUsed, heapTotal, external });
    msg.port.close();
  });
  return;
}
const fs = require('node:fs');
const path = require('node:path');
const inspector = require('node:inspector');

const dir = process.env.BENCH_PROBE_DIR;

// The platform's worker threads (PGlite's), so a `gc` reaches their isolates too.
const workers = new Set();
const OriginalWorker = threads.Worker;
threads.Worker = class extends OriginalWorker {
  constructor(...args) {
    super(...args);
    workers.add(this);
    this.once('exit', () => workers.delete(this));
  }
};
function collectWorker(worker) {
  return new Promise((resolve) => {
    const { port1, port2 } = new threads.MessageChannel();
    const timer = setTimeout(() => (port1.close(), resolve(undefined)), 10_000);
    port1.once('message', (memory) => (clearTimeout(timer), port1.close(), resolve(memory)));
    worker.postMessage({ benchProbe: 'gc', port: port2 }, [port2]);
  });
}
const counts = {};
const bucket = (app) =>
  (counts[app] ??= {
    roundTrips: 0,
    statements: 0,
    relayStatements: 0,
    commits: 0,
    rollbacks: 0,
    byText: {},
  });

/** One key per statement shape: `$1, $2, …` and `($1, $2), ($3, $4)` fold into one, whitespace collapses. */
function shape(text) {
  return text
    .replace(/\s+/g, ' ')
    .replace(/^SELECT (.{60,}?) FROM /i, 'SELECT … FROM ')
    .replace(/\$\d+/g, '$')
    .replace(/\(\$(?:, ?\$)*\)(?:, ?\(\$(?:, ?\$)*\))+/g, '($…), …')
    .replace(/\$(?:, ?\$)+/g, '$…')
    .trim()
    .slice(0, 200);
}

/** Statement texts repeat: each is shaped once. */
const shapes = new Map();

function count(client, text) {
  const app = (client && client.connectionParameters && client.connectionParameters.application_name) || '?';
  const c = bucket(app);
  c.roundTrips++;
  const head = text.trimStart().slice(0, 16).toUpperCase();
  if (dir) {
    let key = shapes.get(text);
    if (key === undefined && shapes.size < 10_000) shapes.set(text, (key = shape(text)));
    key ??= shape(text);
    c.byText[key] = (c.byText[key] ?? 0) + 1;
  }
  if (head.startsWith('COMMIT')) c.commits++;
  else if (head.startsWith('ROLLBACK')) c.rollbacks++;
  else if (head.startsWith('BEGIN') || head.startsWith('START TRANSACTION')) return;
  else {
    c.statements++;
    if (/\b(outbox|inbox)\b|_outbox|_inbox|outbox_|inbox_/i.test(text)) c.relayStatements++;
  }
}

try {
  const pg = require(require.resolve('pg', { paths: [process.cwd()] }));
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, ...rest) {
    const text =
      typeof config === 'string' ? config : config && typeof config.text === 'string' ? config.text : '';
    count(this, text);
    return original.call(this, config, ...rest);
  };
} catch (error) {
  process.stderr.write(`bench sql-counter: pg not patched: ${error}\n`);
}

// Kafka requests by API, counted where @platformatic/kafka sends them (its diagnostics channel, by name, so it works
// before the library loads): what each service asks the brokers idle and per message.
const KAFKA_APIS = {
  0: 'Produce',
  1: 'Fetch',
  2: 'ListOffsets',
  3: 'Metadata',
  8: 'OffsetCommit',
  9: 'OffsetFetch',
  10: 'FindCoordinator',
  11: 'JoinGroup',
  12: 'Heartbeat',
  13: 'LeaveGroup',
  14: 'SyncGroup',
  18: 'ApiVersions',
  19: 'CreateTopics',
  22: 'InitProducerId',
};
const kafka = {};
if (dir)
  require('node:diagnostics_channel').subscribe('tracing:plt:kafka:connections:api:start', (message) => {
    const api = KAFKA_APIS[message && message.apiKey] ?? `api-${message && message.apiKey}`;
    kafka[api] = (kafka[api] ?? 0) + 1;
  });

let seq = 0;
let profiles = 0;
let session;
function write(name, value) {
  const file = path.join(dir, name);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}
function command() {
  try {
    return fs.readFileSync(path.join(dir, 'command'), 'utf8').trim();
  } catch {
    return 'count';
  }
}
// PGlite's worker thread (embedded mode) counts its time by SQL text once asked, and writes pglite-<pid>.json.
let pglite;
if (dir) {
  pglite = new (require('node:worker_threads').BroadcastChannel)('mailbridge:bench-pglite');
  pglite.unref();
}
if (dir)
  process.on('SIGUSR2', () => {
    seq++;
    pglite.postMessage({ dir, seq });
    const done = () => write(`sql-${process.pid}.json`, { seq, pid: process.pid, counts, kafka });
    const what = command();
    if (what === 'gc') {
      // Memory is read after a full collection, so garbage does not count as a mailbox's cost.
      collect();
      // What of the RSS is JavaScript heap, the main thread's and the workers' (the bench splits the figure with it).
      const { heapUsed, heapTotal, external } = process.memoryUsage();
      const at = seq;
      return void Promise.all([...workers].map(collectWorker)).then((inWorkers) =>
        write(`sql-${process.pid}.json`, {
          seq: at,
          pid: process.pid,
          counts,
          kafka,
          memory: { heapUsed, heapTotal, external, workers: inWorkers.filter(Boolean) },
        }),
      );
    }
    if (what === 'heap-snapshot') {
      // By hand, to see what a mailbox keeps: echo heap-snapshot > $BENCH_PROBE_DIR/command; kill -USR2 <pid>
      collect();
      require('node:v8').writeHeapSnapshot(path.join(dir, `heap-${process.pid}-${seq}.heapsnapshot`));
      return done();
    }
    if (what === 'profile-start') {
      session = new inspector.Session();
      session.connect();
      // Alongside the CPU profile, what the window allocates: a sample every 32 KiB on average, kept when a collection
      // frees it (without both flags a window of short-lived garbage would show nothing).
      const allocations = {
        samplingInterval: 32 * 1024,
        includeObjectsCollectedByMinorGC: true,
        includeObjectsCollectedByMajorGC: true,
      };
      const started = (profiler) => (error) => {
        if (error) process.stderr.write(`bench probe: ${profiler} not started: ${error.message}\n`);
      };
      session.post('Profiler.enable', () =>
        session.post('Profiler.setSamplingInterval', { interval: 1000 }, () =>
          session.post('HeapProfiler.startSampling', allocations, (heapError) => {
            started('heap sampling')(heapError);
            session.post('Profiler.start', (error) => (started('CPU profile')(error), done()));
          }),
        ),
      );
      return;
    }
    if (what === 'profile-stop' && session) {
      // Heap sampling stops first, so the CPU profile's hand-over (megabytes of JSON) is not counted as allocation.
      const n = ++profiles;
      const save = (name, error, result) => {
        if (error) return void process.stderr.write(`bench probe: ${name}: ${error.message}\n`);
        try {
          write(name, result.profile);
        } catch (writeError) {
          process.stderr.write(`bench probe: ${name} not written: ${writeError}\n`);
        }
      };
      return session.post('HeapProfiler.stopSampling', (heapError, heap) =>
        session.post('Profiler.stop', (error, cpu) => {
          // The bench waits for every process's answer: whatever failed above, it gets one.
          try {
            save(`alloc-${process.pid}-${n}.heapprofile`, heapError, heap);
            save(`profile-${process.pid}-${n}.cpuprofile`, error, cpu);
          } finally {
            session.disconnect();
            session = undefined;
            done();
          }
        }),
      );
    }
    done();
  });
