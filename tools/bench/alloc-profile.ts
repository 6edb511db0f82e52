// Summarises a V8 sampling heap profile (`.heapprofile`) of a platform process, taken with the objects that minor and
// major collections freed kept in it: what the process allocated during the measured window, and which code asked for
// it. Allocation is what fills the young generation (a scavenge per semi-space of it), and what outlives two scavenges
// is promoted and marked again by the major collector on V8's helper threads (issue 16).
import { NO_OWN_FRAME, moduleOf, ownFrameLabel, top } from './cpu-profile';

interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Bytes allocated at this frame, as V8 estimates them from its samples (already scaled). */
  selfSize: number;
  children?: HeapProfileNode[];
}

export interface HeapProfile {
  head: HeapProfileNode;
}

export interface AllocationSummary {
  /** Estimated bytes allocated in the window. */
  readonly bytes: number;
  /**
   * Bytes by the nearest module on the stack that is neither node's own nor V8's (a builtin such as `Array.push`, a
   * stream of node's): the package or folder of ours that asked for the memory.
   */
  readonly byModule: ReadonlyArray<[string, number]>;
  /**
   * Bytes by the nearest frame of our own code (apps/, libs/) on the stack. V8 keeps the innermost 128 frames of a
   * sample, so on a deeper stack an outer frame of ours can be missing.
   */
  readonly byOwnFrame: ReadonlyArray<[string, number]>;
}

export const NO_MODULE = '(node and V8 only)';

const isRuntime = (module: string): boolean => module.startsWith('node:') || module.startsWith('(');

export function summariseAllocations(profile: HeapProfile, topN = 12): AllocationSummary {
  const modules = new Map<string, number>();
  const own = new Map<string, number>();
  let bytes = 0;
  // Depth first with the stack's nearest module and own frame carried down: the profile is a tree of call paths
  // (at most 128 deep). What the in-process inspector allocates is the profilers' own cost (the CPU profile handed over
  // at the stop), not the platform's.
  const walk = (node: HeapProfileNode, module: string, ownFrame: string): void => {
    const { functionName, url } = node.callFrame;
    if (url === 'node:inspector') return;
    const mod = moduleOf(url, functionName);
    const nearestModule = isRuntime(mod) ? module : mod;
    const nearestOwn = ownFrameLabel(node.callFrame) ?? ownFrame;
    if (node.selfSize > 0) {
      bytes += node.selfSize;
      modules.set(nearestModule, (modules.get(nearestModule) ?? 0) + node.selfSize);
      own.set(nearestOwn, (own.get(nearestOwn) ?? 0) + node.selfSize);
    }
    for (const child of node.children ?? []) walk(child, nearestModule, nearestOwn);
  };
  walk(profile.head, NO_MODULE, NO_OWN_FRAME);
  return { bytes, byModule: top(modules, topN), byOwnFrame: top(own, topN) };
}

/** The markdown section of one process: KB allocated per message, by module and by our nearest frame. */
export function allocationMarkdown(name: string, s: AllocationSummary, messages: number): string[] {
  const kb = (b: number) => (b / 1024 / messages).toFixed(1);
  const cell = (x: readonly [string, number] | undefined) =>
    x ? `${x[0].replace(/\|/g, '\\|')} | ${kb(x[1])}` : ' | ';
  const lines = [
    `### ${name}: ${kb(s.bytes)} KB allocated per message (sampling heap profile, freed objects included)`,
    '',
    '| module that asked (nearest on the stack) | KB/msg | our nearest frame | KB/msg |',
    '| --- | ---: | --- | ---: |',
  ];
  for (let i = 0; i < Math.max(s.byModule.length, s.byOwnFrame.length); i++)
    lines.push(`| ${cell(s.byModule[i])} | ${cell(s.byOwnFrame[i])} |`);
  lines.push('');
  return lines;
}
