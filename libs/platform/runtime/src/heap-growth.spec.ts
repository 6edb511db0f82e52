import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { HEAP_GROWING_PERCENT, tuneHeapGrowth } from './heap-growth';

const RUN_TS = join(__dirname, '../../../../tools/run-ts.cjs');

describe('tuneHeapGrowth (issue 16: fewer full collections under a burst)', () => {
  it('sets V8 heap growing factor for the process', () => {
    const set = jest.fn();
    expect(tuneHeapGrowth(set, [])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(set).toHaveBeenCalledWith(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it.each([
    [['--heap-growing-percent=30']],
    [['--heap-growing-percent', '30']],
    [['--heap_growing_percent=50']],
  ])('leaves an explicit setting on the command line alone (%j)', (argv) => {
    const set = jest.fn();
    expect(tuneHeapGrowth(set, argv)).toBeUndefined();
    expect(set).not.toHaveBeenCalled();
  });

  it('takes effect in the process and in a worker thread it starts', () => {
    const factors = (mode: string): string[] => {
      const run = spawnSync(
        process.execPath,
        ['--trace-gc-verbose', RUN_TS, join(__dirname, 'testing/heap-growth.fixture.ts'), mode],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(run.status).toBe(0);
      // "[pid:isolate:thread] … [HeapController] factor 2.0 based on …": one isolate per thread.
      const byIsolate = new Map<string, string>();
      for (const m of run.stdout.matchAll(
        /\[\d+:(0x[0-9a-f]+):\d+\][^\n]*\[HeapController\] factor ([\d.]+)/g,
      ))
        byIsolate.set(m[1], m[2]);
      return [...byIsolate.values()];
    };
    // (V8's own factor for these small, cheaply collected heaps is 4.0: a no-op tuning fails this.)
    const tuned = factors('tuned');
    expect(tuned).toHaveLength(2);
    expect(tuned).toEqual([
      (1 + HEAP_GROWING_PERCENT / 100).toFixed(1),
      (1 + HEAP_GROWING_PERCENT / 100).toFixed(1),
    ]);
  });
});
