// The embedded process's CPU by thread (/proc/<pid>/task/*/stat), and its PGlite worker's own account of where its
// time goes, by SQL text (pglite-<pid>.json, written by libs/platform/persistence/src/embedded-postgres.worker.mjs when
// the bench's probe asks).
import fs from 'node:fs';
import path from 'node:path';
import { cpuTicksOfStat } from './stats';
import { clockTicks } from './proc';

export interface StatementStats {
  calls: number;
  ms: number;
  syncToFsMs: number;
  bytesIn: number;
  bytesOut: number;
}

export interface PgliteFile {
  seq: number;
  /** The worker thread's id, a task of the process. */
  tid: number;
  /** PGlite's WebAssembly memory (it only grows). */
  wasmMemoryBytes?: number | null;
  statements: Record<string, StatementStats>;
}

/** One file of every thread of a process (`/proc/<pid>/task/<tid>/<file>`), by thread id. */
function taskFiles(pid: number, file: 'stat' | 'comm'): Map<number, string> {
  const out = new Map<number, string>();
  let tids: string[] = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), fs.readFileSync(`/proc/${pid}/task/${tid}/${file}`, 'utf8'));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Cumulative CPU in ms of every thread of a process, by thread id. */
export function threadCpuMsOf(pid: number): Map<number, number> {
  return new Map(
    [...taskFiles(pid, 'stat')].map(([tid, stat]) => [tid, (cpuTicksOfStat(stat) * 1000) / clockTicks()]),
  );
}

/** Each thread's name (Node 24 names its threads), by thread id. */
export function threadNamesOf(pid: number): Map<number, string> {
  return new Map([...taskFiles(pid, 'comm')].map(([tid, name]) => [tid, name.trim()]));
}

export const THREAD_GROUPS = {
  main: 'main thread (the four services)',
  pglite: "PGlite's worker thread",
  v8: 'V8 platform threads (GC helpers, concurrent compiler: V8Worker, DelayedTaskScheduler)',
  libuv: 'libuv pool (fs, crypto, dns: libuv-worker)',
  rest: 'other threads (inspector, signal handling)',
} as const;

/**
 * CPU between two readings, by group of threads. Node 24 names its threads (`MainThread`, `V8Worker`,
 * `DelayedTaskSche`, `libuv-worker`, `SignalInspector`); PGlite's worker reports its own id.
 */
export function threadGroups(
  pid: number,
  before: Map<number, number>,
  after: Map<number, number>,
  pgliteTid: number | undefined,
  names: Map<number, string>,
): Map<string, number> {
  const groups = new Map<string, number>();
  for (const [tid, ms] of after) {
    const name = names.get(tid) ?? '';
    const group =
      tid === pid
        ? THREAD_GROUPS.main
        : tid === pgliteTid
          ? THREAD_GROUPS.pglite
          : name === 'V8Worker' || name.startsWith('DelayedTask')
            ? THREAD_GROUPS.v8
            : name === 'libuv-worker'
              ? THREAD_GROUPS.libuv
              : THREAD_GROUPS.rest;
    groups.set(group, (groups.get(group) ?? 0) + ms - (before.get(tid) ?? 0));
  }
  return groups;
}

export function readPglite(dir: string, pid: number): PgliteFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, `pglite-${pid}.json`), 'utf8')) as PgliteFile;
  } catch {
    return undefined;
  }
}

/** What the worker spent between two of its files, by statement, most first. */
export function pgliteStatementDeltas(
  before: PgliteFile | undefined,
  after: PgliteFile,
): Array<[string, StatementStats]> {
  const rows: Array<[string, StatementStats]> = [];
  for (const [text, a] of Object.entries(after.statements)) {
    const b = before?.statements[text];
    const d: StatementStats = {
      calls: a.calls - (b?.calls ?? 0),
      ms: a.ms - (b?.ms ?? 0),
      syncToFsMs: a.syncToFsMs - (b?.syncToFsMs ?? 0),
      bytesIn: a.bytesIn - (b?.bytesIn ?? 0),
      bytesOut: a.bytesOut - (b?.bytesOut ?? 0),
    };
    if (d.calls > 0) rows.push([text, d]);
  }
  return rows.sort((x, y) => y[1].ms - x[1].ms);
}

/** The "PGlite worker: time by statement" table, per message. */
export function pgliteMarkdown(
  rows: Array<[string, StatementStats]>,
  threads: Map<string, number>,
  messages: number,
  topN = 25,
): string {
  const perMsg = (x: number, digits = 2) => (x / messages).toFixed(digits);
  const total = rows.reduce(
    (a, [, s]) => ({ calls: a.calls + s.calls, ms: a.ms + s.ms, sync: a.sync + s.syncToFsMs }),
    { calls: 0, ms: 0, sync: 0 },
  );
  const lines = [
    '### embedded: CPU by thread',
    '',
    '| thread | CPU ms/msg |',
    '| --- | ---: |',
    ...[...threads].map(([name, ms]) => `| ${name} | ${perMsg(ms)} |`),
    '',
    '### PGlite worker: time by statement',
    '',
    `Wall time inside \`execProtocolRawStream\` (+ \`syncToFs\`) per message, by SQL text (from the Parse or Query message;` +
      ` the connection's later messages until Sync count to it). In all: ${perMsg(total.calls, 1)} calls/msg, ` +
      `${perMsg(total.ms)} ms/msg, of which syncToFs ${perMsg(total.sync, 3)} ms/msg.`,
    '',
    '| statement | calls/msg | ms/msg | ms/call | bytes in/msg | bytes out/msg |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const [text, s] of rows.slice(0, topN)) {
    const sql = (text.length > 160 ? `${text.slice(0, 157)}...` : text).replace(/\|/g, '\\|');
    lines.push(
      `| \`${sql}\` | ${perMsg(s.calls, 2)} | ${perMsg(s.ms, 3)} | ${(s.ms / s.calls).toFixed(3)} | ` +
        `${perMsg(s.bytesIn, 0)} | ${perMsg(s.bytesOut, 0)} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
