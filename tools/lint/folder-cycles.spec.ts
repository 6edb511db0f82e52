import fs from 'node:fs';
import path from 'node:path';

// Inside an app, folders are modules: imports between its top-level folders must form no cycle, so each folder can
// be read (and moved) on its own. Nest modules are wired at the root module, not by folders importing each other.
const root = path.resolve(__dirname, '../..');
const APPS = ['identity-connections', 'mail-gateway', 'sync-engine', 'conversations', 'embedded'];

/** Cycles not yet broken (the list only shrinks): the folders of each strongly connected group, sorted. */
const KNOWN_CYCLES: Record<string, string[][]> = {};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sources(full);
    return entry.name.endsWith('.ts') && !/\.(spec|e2e-spec)\.ts$/.test(entry.name) ? [full] : [];
  });
}

/** Edges between the top-level folders of `src` (files directly in `src` are the composition root: ignored). */
export function folderGraph(src: string): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const folderOf = (file: string) => {
    const parts = path.relative(src, file).split(path.sep);
    return parts.length > 1 ? parts[0] : null;
  };
  for (const file of sources(src)) {
    const from = folderOf(file);
    if (!from) continue;
    for (const [, spec] of fs.readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const to = folderOf(path.resolve(path.dirname(file), spec));
      if (to && to !== from && !to.startsWith('..')) {
        graph.set(from, (graph.get(from) ?? new Set()).add(to));
      }
    }
  }
  return graph;
}

/** Strongly connected groups of more than one folder (Tarjan). */
export function cyclesOf(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) groups.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return groups.sort((a, b) => a[0].localeCompare(b[0]));
}

describe('folder cycles inside an app', () => {
  it('the cycle finder finds a cycle', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cyclesOf(graph)).toEqual([['a', 'b', 'c']]);
  });

  it.each(APPS)('%s: no cycle between its folders beyond the known ones', (app) => {
    expect(cyclesOf(folderGraph(path.join(root, 'apps', app, 'src')))).toEqual(KNOWN_CYCLES[app] ?? []);
  });
});
