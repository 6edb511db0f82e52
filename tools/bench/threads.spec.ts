import { THREAD_GROUPS, pgliteStatementDeltas, threadGroups } from './threads';

describe('embedded CPU by thread', () => {
  it('groups threads: main by the pid, PGlite by its id, the rest by their Node 24 names', () => {
    const before = new Map([
      [100, 10],
      [101, 1],
      [102, 1],
      [103, 1],
      [104, 1],
      [105, 0],
      [110, 5],
    ]);
    const after = new Map([
      [100, 30],
      [101, 2],
      [102, 2],
      [103, 2],
      [104, 2],
      [105, 7],
      [110, 45],
      [111, 3], // started during the window
    ]);
    const names = new Map([
      [100, 'MainThread'],
      [101, 'DelayedTaskSche'],
      [102, 'V8Worker'],
      [103, 'libuv-worker'],
      [104, 'SignalInspector'],
      [105, 'libuv-worker'],
      [110, 'WorkerThread'],
      [111, 'V8Worker'],
    ]);
    expect(Object.fromEntries(threadGroups(100, before, after, 110, names))).toEqual({
      [THREAD_GROUPS.main]: 20,
      [THREAD_GROUPS.v8]: 5,
      [THREAD_GROUPS.libuv]: 8,
      [THREAD_GROUPS.rest]: 1,
      [THREAD_GROUPS.pglite]: 40,
    });
  });

  it("takes the worker's time by statement between two readings, most first, leaving out the idle ones", () => {
    const s = (calls: number, ms: number) => ({ calls, ms, syncToFsMs: 0, bytesIn: calls, bytesOut: 0 });
    const rows = pgliteStatementDeltas(
      { seq: 1, tid: 1, statements: { a: s(2, 5), b: s(1, 1), idle: s(3, 3) } },
      { seq: 2, tid: 1, statements: { a: s(4, 6), b: s(3, 9), idle: s(3, 3), c: s(1, 2) } },
    );
    expect(rows.map(([text, d]) => [text, d.calls, d.ms])).toEqual([
      ['b', 2, 8],
      ['c', 1, 2],
      ['a', 2, 1],
    ]);
  });
});
