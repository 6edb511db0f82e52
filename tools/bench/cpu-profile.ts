// Summarises a V8 CPU profile (`.cpuprofile`) of a platform process: where its main thread spent the measured window.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled busy time (idle excluded), ms. */
  readonly busyMs: number;
  /** Busy time by pipeline stage: the nearest frame on the stack that belongs to a service or to the relay/bus. */
  readonly byStage: ReadonlyArray<[string, number]>;
  /** Self time by module (package, app folder, lib, node internals, GC), largest first. */
  readonly byModule: ReadonlyArray<[string, number]>;
  readonly topFunctions: ReadonlyArray<[string, number]>;
  /**
   * Self time of every sample charged to the nearest frame of our own code (apps/, libs/) on its stack: which of our
   * functions cost most, with the library and runtime work they call synchronously.
   */
  readonly topOwnFrames: ReadonlyArray<[string, number]>;
}

export const NO_STAGE = 'no service frame (I/O callbacks, drivers, GC)';

/** The module a frame belongs to: an npm package, `apps/<service>/<folder>`, `libs/<lib>`, `node:<module>`, or V8's own. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return url.split('/')[0];
  const app = /\/apps\/([^/]+)\/src\/([^/]+)/.exec(url);
  if (app) return `apps/${app[1]}/${app[2].replace(/\.js$/, '')}`;
  const lib = /\/libs\/(.+?)\/src\//.exec(url);
  if (lib) return `libs/${lib[1]}`;
  return url.replace(/^.*\//, '');
}

/** The stage a frame marks, or undefined when it is neutral (a library, a driver). */
export function stageOf(url: string): string | undefined {
  if (/\/libs\/platform\/messaging\/src\//.test(url) || /outbox-relay\.js$/.test(url)) return 'relay/bus';
  const app = /\/apps\/(identity-connections|mail-gateway|sync-engine|conversations)\/src\//.exec(url);
  return app?.[1];
}

/** The `n` largest entries, largest first. */
export const top = (m: Map<string, number>, n: number): Array<[string, number]> =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n);

export const NO_OWN_FRAME = '(no frame of ours on the stack)';

/** `function module:line` when the frame is our own code (apps/, libs/ outside node_modules), else undefined. */
export function ownFrameLabel(frame: {
  functionName: string;
  url: string;
  lineNumber: number;
}): string | undefined {
  if (!/\/(apps|libs)\//.test(frame.url) || /\/node_modules\//.test(frame.url)) return undefined;
  return `${frame.functionName || '(anonymous)'} ${moduleOf(frame.url, frame.functionName)}:${frame.lineNumber + 1}`;
}

export function summariseProfile(profile: CpuProfile, topN = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const frameOf = (id: number) => {
    const node = byId.get(id);
    if (!node) throw new Error(`the profile has no node ${id}`);
    return node.callFrame;
  };
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownCache = new Map<number, string>();
  const ownFrameOf = (id: number): string => {
    const cached = ownCache.get(id);
    if (cached) return cached;
    let found = NO_OWN_FRAME;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const label = ownFrameLabel(frameOf(at));
      if (label) {
        found = label;
        break;
      }
    }
    ownCache.set(id, found);
    return found;
  };
  const stageCache = new Map<number, string>();
  const stageOfNode = (id: number): string => {
    const cached = stageCache.get(id);
    if (cached) return cached;
    const path: number[] = [];
    let stage: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const hit = stageCache.get(at);
      if (hit) {
        stage = hit;
        break;
      }
      path.push(at);
      stage = stageOf(frameOf(at).url);
      if (stage) break;
    }
    const result = stage ?? NO_STAGE;
    for (const p of path) stageCache.set(p, result);
    return result;
  };
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  let busyMs = 0;
  const stages = new Map<string, number>();
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  const own = new Map<string, number>();
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = frameOf(id);
    // Idle is no CPU; the in-process inspector session is the profiler's own cost.
    if (functionName === '(idle)' || url === 'node:inspector') continue;
    busyMs += ms;
    const mod = moduleOf(url, functionName);
    modules.set(mod, (modules.get(mod) ?? 0) + ms);
    const fn = `${functionName || '(anonymous)'} ${mod}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(fn, (functions.get(fn) ?? 0) + ms);
    const mine = ownFrameOf(id);
    own.set(mine, (own.get(mine) ?? 0) + ms);
    const stage = stageOfNode(id);
    stages.set(stage, (stages.get(stage) ?? 0) + ms);
  }
  return {
    busyMs,
    byStage: top(stages, 10),
    byModule: top(modules, topN),
    topFunctions: top(functions, topN),
    topOwnFrames: top(own, topN),
  };
}
