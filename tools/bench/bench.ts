// `npm run bench [-- --quick --mode embedded|distributed|both --mailboxes M --messages N --idle-mailboxes K
//   --latency-seconds S --raw-rows R --profile [--profile-out FILE] --log-dir DIR --skip-components --kafka-brokers B]`
// First the component benches (bench/*.bench.ts, each in its own process), then the end-to-end bench per mode; the
// last lines are one summary per mode. Prints numbers, asserts no target; exits non-zero when a bench could not run or
// when messages never became visible in the CRM API (every wait is bounded).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as prettier from 'prettier';
import { ROOT } from '../soak/processes';
import { ModeReport, runMode } from './end-to-end';
import { Options, QUICK_COMPONENT_ARGS, UsageError, parseArgs } from './options';
import { summaryLine } from './stats';

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

function runComponents(quick: boolean): void {
  const dir = path.join(ROOT, 'bench');
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()) {
    out(`\n== ${file} ==`);
    const args = quick ? (QUICK_COMPONENT_ARGS[file] ?? []) : [];
    const started = Date.now();
    const res = spawnSync(
      process.execPath,
      [path.join(ROOT, 'tools', 'run-ts.cjs'), path.join(dir, file), ...args],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
    if (res.status !== 0) {
      process.stderr.write(`bench: ${file} failed (exit ${res.status ?? res.signal})\n`);
      process.exit(1);
    }
    out(`(${file}: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  if (!o.skipComponents) runComponents(o.quick);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-bench-'));
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      process.stderr.write(
        `bench: ${signal}: stopping (a distributed run's database mb_bench_* is left behind)\n`,
      );
      fs.rmSync(workDir, { recursive: true, force: true });
      process.exit(130); // the exit hook kills every process the bench started
    });
  out(
    `\n== end to end: modes ${o.modes.join(' + ')}, ${o.mailboxes} mailboxes, ${o.messages} messages, ` +
      `${o.idleMailboxes} idle mailboxes, steady phase ${o.latencySeconds} s${o.profile ? ', profiling' : ''} ==`,
  );
  out(
    `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}: ` + 'absolute numbers are only comparable between runs on the same otherwise idle machine',
  );
  const results: Array<{ mode: string; report?: ModeReport; error?: string }> = [];
  for (const mode of o.modes) {
    const dir = path.join(workDir, mode);
    const logDir = o.logDir ?? dir;
    fs.mkdirSync(logDir, { recursive: true });
    try {
      results.push({ mode, report: await runMode(mode, o, dir, logDir) });
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`bench ${mode}: ${message}\n`);
      results.push({ mode, error: error instanceof Error ? error.message : String(error) });
    }
  }
  const failed = results.filter((r) => r.error);
  const sections = results.flatMap((r) => (r.report?.profileMarkdown ? [r.report.profileMarkdown] : []));
  if (o.profile && sections.length > 0) {
    fs.mkdirSync(path.dirname(o.profileOut), { recursive: true });
    // Formatted as `npm run format` would (the file is committed).
    const options = { ...(await prettier.resolveConfig(o.profileOut)), parser: 'markdown' };
    fs.writeFileSync(o.profileOut, await prettier.format(profileDocument(o, sections), options));
    out(`\nwhere the time goes: ${path.relative(ROOT, o.profileOut)}`);
  }
  if (failed.length === 0 || !o.logDir) fs.rmSync(workDir, { recursive: true, force: true });
  out('');
  // Said above the result lines: a run with another warm-up (0 before it existed, and with --quick) compares badly.
  out(
    `burst of ${o.messages} into ${o.mailboxes} mailboxes after an unmeasured warm-up burst of ${o.warmupMessages} ` +
      `(--warmup-messages), ${o.bodyKb > 0 ? `${o.bodyKb} KB messages (--body-kb)` : 'one-line messages'}:`,
  );
  for (const r of results)
    out(r.report ? summaryLine(r.report.summary) : `bench ${r.mode}: FAILED: ${r.error?.split('\n')[0]}`);
  process.exit(failed.length > 0 ? 1 : 0);
}

function profileDocument(o: Options, sections: string[]): string {
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).stdout.trim();
  return [
    '# Where the time per message goes',
    '',
    `Generated by \`npm run bench -- --profile\` (${new Date().toISOString().slice(0, 16)}Z, commit ${commit}, ` +
      `${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end).`,
    `Command: \`npm run bench -- ${process.argv.slice(2).join(' ')}\` (${o.mailboxes} Gmail mailboxes, ${o.messages} messages).`,
    '',
    '- CPU ms: the process CPU of the burst window (`/proc/<pid>/stat` utime+stime). Distributed: each service',
    '  process is its stage, less what its CPU profile saw in relay/bus frames (`libs/platform/messaging`, the outbox',
    "  relay). Embedded: one process, so the stages come from the main thread's profile alone: a sample belongs to",
    '  the nearest service or relay/bus frame on its stack; work run from I/O callbacks has none (async hops lose the',
    "  stack), and PGlite's worker thread is not sampled, so both stay apart. The profiler costs some CPU itself.",
    "- Transactions: COMMITs on the service's connections; SQL statements: every other statement except BEGIN;",
    '  DB round trips: every `pg` query call (BEGIN and COMMIT included). Counted in each process by a preloaded',
    '  wrapper around `pg.Client.prototype.query` (`tools/bench/probe.cjs`), per connection application name.',
    '  Kafka requests are printed apart (per service and API, in the bench log), not in this table.',
    "- Embedded, by thread (`/proc/<pid>/task/*/stat`): the main thread is the pid, PGlite's worker reports its id,",
    '  the rest go by the names Node 24 gives them (`V8Worker` and `DelayedTaskSche`: V8; `libuv-worker`: the pool).',
    "  PGlite worker, by statement: the worker's own count (asked for by the probe) of wall time per",
    "  `execProtocolRawStream` call, so on a loaded machine it runs above the thread's CPU; calls and bytes are exact.",
    '- KB allocated per message: a sampling heap profile of each main thread over the same window (a sample every',
    '  32 KiB, objects freed by either collector kept), each allocation charged to the nearest module on its stack',
    "  that is not node's or V8's, and to our nearest frame. The young generation fills at that rate; what outlives",
    "  two of its collections is promoted, and V8's helper threads mark it again.",
    '- The machine is shared: the numbers are indicative.',
    '',
    ...sections,
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
