import { CpuProfile, NO_STAGE, moduleOf, summariseProfile } from './cpu-profile';

const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9 },
  children,
});

const D = '/work/dist/apps/sync-engine';
// (root) -> consume [sync-engine] -> query [typeorm] -> write [pg]
//        -> relay [outbox-relay]  -> send [kafkajs]
//        -> onRead [node:net] (an I/O callback: no frame of ours)
//        -> (garbage collector), (idle)
const profile: CpuProfile = {
  nodes: [
    frame(1, '(root)', '', [2, 5, 7, 8, 9]),
    frame(2, 'consume', `${D}/apps/sync-engine/src/inbound/observed.consumer.js`, [3]),
    frame(3, 'query', '/work/node_modules/typeorm/driver/postgres/PostgresQueryRunner.js', [4]),
    frame(4, 'write', '/work/node_modules/pg/lib/client.js'),
    frame(5, 'relay', `${D}/libs/platform/persistence/src/outbox-relay.js`, [6]),
    frame(6, 'send', '/work/node_modules/kafkajs/src/producer/index.js'),
    frame(7, 'onRead', 'node:net'),
    frame(8, '(garbage collector)', ''),
    frame(9, '(idle)', ''),
  ],
  // 1 ms each (deltas are in µs)
  samples: [2, 3, 4, 4, 6, 6, 6, 7, 8, 9, 9, 9],
  timeDeltas: Array(12).fill(1000),
};

describe('summariseProfile', () => {
  const s = summariseProfile(profile);

  it('leaves idle out of the busy time', () => {
    expect(s.busyMs).toBe(9);
  });

  it('charges each sample to the nearest service or relay/bus frame on its stack', () => {
    expect(Object.fromEntries(s.byStage)).toEqual({ 'sync-engine': 4, 'relay/bus': 3, [NO_STAGE]: 2 });
  });

  it('sums self time by module, largest first', () => {
    expect(s.byModule[0]).toEqual(['kafkajs', 3]);
    expect(Object.fromEntries(s.byModule)).toMatchObject({
      pg: 2,
      typeorm: 1,
      'apps/sync-engine/inbound': 1,
      'node:net': 1,
      '(garbage collector)': 1,
    });
  });

  it('charges library time to our nearest calling function', () => {
    expect(Object.fromEntries(s.topOwnFrames)).toMatchObject({
      'consume apps/sync-engine/inbound:10': 4,
      'relay libs/platform/persistence:10': 3,
    });
  });
});

describe('moduleOf', () => {
  it('names scoped packages, app folders, libs and runtime pseudo-frames', () => {
    expect(moduleOf('/x/node_modules/@electric-sql/pglite/dist/index.js', 'f')).toBe('@electric-sql/pglite');
    expect(moduleOf('/x/dist/apps/mail-gateway/apps/mail-gateway/src/sync/pull.js', 'f')).toBe(
      'apps/mail-gateway/sync',
    );
    expect(moduleOf('/x/dist/apps/embedded/libs/providers/google/src/gmail.js', 'f')).toBe(
      'libs/providers/google',
    );
    expect(moduleOf('node:internal/streams/readable', 'f')).toBe('node:internal');
    expect(moduleOf('', '(program)')).toBe('(program)');
  });
});
