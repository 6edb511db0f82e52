// Summarises a V8 sampling heap profile (`.heapprofile`) of a platform process, taken with the objects that minor and
// major collections freed kept in it: what the process allocated during the measured window, and which code asked for
// it. Allocation is what fills the young generation (a scavenge per semi-space of it), and what outlives two scavenges
// is promoted and marked again by the major collector on V8's helper threads (issue 16).
import { moduleOf } from './cpu-profile';

interface HeapProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  /** Bytes allocated at this frame, as V8 estimates them from its samples. */
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
  /** Bytes by the nearest frame of our own code (apps/, libs/) on the stack. */
  readonly byOwnFrame: ReadonlyArray<[string, number]>;
}

const NO_MODULE = '(node and V8 only)';
const NO_OWN_FRAME = '(no frame of ours on the stack)';

const isRuntime = (module: string): boolean =>
  module.startsWith('node:') || module.startsWith('(') || module === '';

const top = (m: Map<string, number>, n: number): Array<[string, number]> =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n);

export function summariseAllocations(profile: HeapProfile, topN = 12): AllocationSummary {
  const modules = new Map<string, number>();
  const own = new Map<string, number>();
  let bytes = 0;
  // Depth first with the stack's nearest module and own frame carried down: the profile is a tree of call paths.
  const walk = (node: HeapProfileNode, module: string, ownFrame: string): void => {
    const { functionName, url, lineNumber } = node.callFrame;
    const mod = moduleOf(url, functionName);
    const nearestModule = isRuntime(mod) ? module : mod;
    const ours = /\/(apps|libs)\//.test(url) && !/\/node_modules\//.test(url);
    const nearestOwn = ours ? `${functionName || '(anonymous)'} ${mod}:${lineNumber + 1}` : ownFrame;
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
