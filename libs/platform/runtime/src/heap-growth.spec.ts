import { execFileSync, spawnSync } from 'node:child_process';
import { HEAP_GROWING_PERCENT, tuneHeapGrowth } from './heap-growth';

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

  it('is a flag this V8 knows, set at run time without error', () => {
    // V8 does not throw on an unknown flag, it only prints a warning: ask a fresh process what it printed.
    const run = spawnSync(
      process.execPath,
      ['-e', `require('v8').setFlagsFromString('--heap-growing-percent=${HEAP_GROWING_PERCENT}')`],
      { encoding: 'utf8' },
    );
    expect([run.status, run.stdout, run.stderr]).toEqual([0, '', '']);
    const unknown = spawnSync(
      process.execPath,
      ['-e', `require('v8').setFlagsFromString('--no-such-flag-x=1')`],
      {
        encoding: 'utf8',
      },
    );
    expect(unknown.stderr + unknown.stdout).not.toBe(''); // so the check above can fail
    const help = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(help).toMatch(/--heap-growing-percent \(specifies heap growing factor/);
  });
});
