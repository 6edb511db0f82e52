import { HeapProfile, NO_MODULE, allocationMarkdown, summariseAllocations } from './alloc-profile';

const D = '/work/dist/apps/mail-gateway';
const node = (functionName: string, url: string, selfSize: number, children: HeapProfile['head'][] = []) => ({
  callFrame: { functionName, url, lineNumber: 9 },
  selfSize,
  children,
});

// (root) -> normalize [mail-gateway] 50 -> parse [mailparser] -> push (a builtin) 600, Transform [node:stream] 300
//        -> processImmediate [node:timers] 40 (node alone) -> iterateData [@zone-eu/mailsplit] 200 (nothing of ours)
//        -> process [mail-gateway] -> findById [mail-gateway] 30 -> query [typeorm] 100
//        -> run [a package whose path has libs/ in it] 70
//        -> post [node:inspector] -> parse (the CPU profile handed over) 5000: the profiler's own cost
const profile: HeapProfile = {
  head: node('(root)', '', 0, [
    node('normalize', `${D}/apps/mail-gateway/src/sync/message-normalizer.service.js`, 50, [
      node('parse', '/work/node_modules/mailparser/dist/cjs/mail-parser.js', 0, [
        node('push', '', 600),
        node('Transform', 'node:internal/streams/transform', 300),
      ]),
    ]),
    node('processImmediate', 'node:internal/timers', 40, [
      node('iterateData', '/work/node_modules/@zone-eu/mailsplit/lib/message-splitter.js', 200),
    ]),
    node('process', `${D}/apps/mail-gateway/src/sync/mailbox-processor.service.js`, 0, [
      node('findById', `${D}/apps/mail-gateway/src/mailboxes/mailboxes.repository.js`, 30, [
        node('query', '/work/node_modules/typeorm/driver/postgres/PostgresQueryRunner.js', 100),
      ]),
    ]),
    node('run', '/work/node_modules/some-lib/libs/runner.js', 70),
    node('post', 'node:inspector', 0, [node('parse', '', 5000)]),
  ]),
};

describe('summariseAllocations', () => {
  const s = summariseAllocations(profile);

  it('sums every frame’s bytes, the profilers’ own (node:inspector) left out', () => {
    expect(s.bytes).toBe(1390);
  });

  it('charges bytes a builtin or node itself allocated to the nearest module that asked, largest first', () => {
    expect(s.byModule).toEqual([
      ['mailparser', 900],
      ['@zone-eu/mailsplit', 200],
      ['typeorm', 100],
      ['some-lib', 70],
      ['apps/mail-gateway/sync', 50],
      [NO_MODULE, 40],
      ['apps/mail-gateway/mailboxes', 30],
    ]);
  });

  it('charges allocations to our nearest frame (the innermost of ours), largest first', () => {
    expect(s.byOwnFrame).toEqual([
      ['normalize apps/mail-gateway/sync:10', 950],
      ['(no frame of ours on the stack)', 310],
      ['findById apps/mail-gateway/mailboxes:10', 130],
    ]);
  });

  it('reads per message in KB, both columns side by side', () => {
    const lines = allocationMarkdown('mail-gateway', s, 0.5);
    expect(lines[0]).toBe(
      '### mail-gateway: 2.7 KB allocated per message (sampling heap profile, freed objects included)',
    );
    expect(lines[4]).toBe('| mailparser | 1.8 | normalize apps/mail-gateway/sync:10 | 1.9 |');
    expect(lines[7]).toBe('| some-lib | 0.1 |  |  |');
    expect(lines).toHaveLength(12);
  });
});
