// CPU time and resident memory of processes, read from /proc (Linux).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { CpuSample, cpuTicksOfStat, rssKbOfStatus, wasmRssKbOfSmaps } from './stats';

let ticksPerSecond: number | undefined;
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Cumulative CPU (user + system, all threads) of a process in ms, or undefined when it is gone. */
export function cpuMsOf(pid: number): number | undefined {
  try {
    return (cpuTicksOfStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

/** CPU of the process's main thread only (`/proc/<pid>/task/<pid>/stat`): what a main-thread CPU profile can see. */
export function mainThreadCpuMsOf(pid: number): number | undefined {
  try {
    return (cpuTicksOfStat(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

export function rssKbOf(pid: number): number {
  try {
    return rssKbOfStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/** Resident KiB of the process's WebAssembly memories (0 without any, or when the process is gone). */
export function wasmRssKbOf(pid: number): number {
  try {
    return wasmRssKbOfSmaps(fs.readFileSync(`/proc/${pid}/smaps`, 'utf8'));
  } catch {
    return 0;
  }
}

export function sampleCpu(procs: ReadonlyArray<{ name: string; pid: number }>): CpuSample[] {
  return procs.flatMap((p) => {
    const cpuMs = cpuMsOf(p.pid);
    return cpuMs === undefined ? [] : [{ ...p, cpuMs }];
  });
}
