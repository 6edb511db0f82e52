import { parseMockBootstrapServers } from './kafka-mock-cluster';

describe('parseMockBootstrapServers', () => {
  it('reads the servers from the -d mock debug line', () => {
    const log =
      '%7|1795397323.802|MOCK|rdkafka#consumer-1| [thrd:app]: Mock cluster mockCluster156d5ab432e0 bootstrap.servers=127.0.0.1:41001,127.0.0.1:36905,127.0.0.1:35429\n';
    expect(parseMockBootstrapServers(log)).toEqual(['127.0.0.1:41001', '127.0.0.1:36905', '127.0.0.1:35429']);
  });

  it('reads the servers from the notice line printed without -d mock', () => {
    const log =
      '%5|1795397328.295|MOCK|rdkafka#consumer-1| [thrd:app]: Mock cluster enabled: original bootstrap.servers and security.protocol ignored and replaced with 127.0.0.1:36281,127.0.0.1:39669\n';
    expect(parseMockBootstrapServers(log)).toEqual(['127.0.0.1:36281', '127.0.0.1:39669']);
  });

  it('returns undefined until the line has arrived', () => {
    expect(
      parseMockBootstrapServers('%7|1795397323.802|INIT|rdkafka#consumer-1| initialized\n'),
    ).toBeUndefined();
  });
});
