import { HeapProfile, allocationMarkdown, summariseAllocations } from './alloc-profile';

const D = '/work/dist/apps/mail-gateway';
const node = (functionName: string, url: string, selfSize: number, children: HeapProfile['head'][] = []) => ({
  callFrame: { functionName, url, lineNumber: 9 },
  selfSize,
  children,
});

// (root) -> normalize [mail-gateway] -> parse [mailparser] -> push (a builtin) 600, Transform [node:stream] 300
//        -> processImmediate [node:timers] -> iterateData [@zone-eu/mailsplit] 200 (a callback: nothing of ours)
//        -> findById [mail-gateway] -> query [typeorm] 100
//        -> (garbage collector) 0
const profile: HeapProfile = {
  head: node('(root)', '', 0, [
    node('normalize', `${D}/apps/mail-gateway/src/sync/message-normalizer.service.js`, 0, [
      node('parse', '/work/node_modules/mailparser/dist/cjs/mail-parser.js', 0, [
        node('push', '', 600),
        node('Transform', 'node:internal/streams/transform', 300),
      ]),
    ]),
    node('processImmediate', 'node:internal/timers', 0, [
      node('iterateData', '/work/node_modules/@zone-eu/mailsplit/lib/message-splitter.js', 200),
    ]),
    node('findById', `${D}/apps/mail-gateway/src/mailboxes/mailboxes.repository.js`, 0, [
      node('query', '/work/node_modules/typeorm/driver/postgres/PostgresQueryRunner.js', 100),
    ]),
    node('(garbage collector)', '', 0),
  ]),
};

describe('summariseAllocations', () => {
  const s = summariseAllocations(profile);

  it('sums every frame’s bytes', () => {
    expect(s.bytes).toBe(1200);
  });

  it('charges bytes a builtin or node itself allocated to the nearest module that asked, largest first', () => {
    expect(s.byModule).toEqual([
      ['mailparser', 900],
      ['@zone-eu/mailsplit', 200],
      ['typeorm', 100],
    ]);
  });

  it('charges library allocations to our nearest calling function, or to none when a callback has no frame of ours', () => {
    expect(Object.fromEntries(s.byOwnFrame)).toEqual({
      'normalize apps/mail-gateway/sync:10': 900,
      '(no frame of ours on the stack)': 200,
      'findById apps/mail-gateway/mailboxes:10': 100,
    });
  });

  it('reads per message in KB, both columns side by side', () => {
    const lines = allocationMarkdown('mail-gateway', s, 0.5);
    expect(lines[0]).toBe(
      '### mail-gateway: 2.3 KB allocated per message (sampling heap profile, freed objects included)',
    );
    expect(lines[4]).toBe('| mailparser | 1.8 | normalize apps/mail-gateway/sync:10 | 1.8 |');
    expect(lines).toHaveLength(8);
  });
});
