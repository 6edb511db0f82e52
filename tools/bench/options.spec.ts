import { UsageError, parseArgs } from './options';

describe('bench options', () => {
  it('defaults to the full run of the issue: both modes, 10,000 idle mailboxes', () => {
    const o = parseArgs([]);
    expect(o).toMatchObject({
      modes: ['embedded', 'distributed'],
      idleMailboxes: 10_000,
      messages: 10_000,
      profile: false,
    });
  });

  it('--quick shrinks every size, and explicit sizes win over it in any order', () => {
    const quick = parseArgs(['--quick']);
    expect(quick.messages).toBeLessThan(10_000);
    expect(quick.idleMailboxes).toBeLessThan(10_000);
    expect(
      parseArgs(['--messages', '50', '--quick', '--mailboxes=5', '--mode', 'distributed']),
    ).toMatchObject({
      messages: 50,
      mailboxes: 5,
      modes: ['distributed'],
    });
  });

  it('--kafka-brokers sets the mock cluster size (default 3, as in the tests)', () => {
    expect(parseArgs([]).kafkaBrokers).toBe(3);
    expect(parseArgs(['--kafka-brokers', '1']).kafkaBrokers).toBe(1);
  });

  it('--warmup-messages sets the unmeasured burst before the measured one (2,000; none with --quick)', () => {
    expect(parseArgs([]).warmupMessages).toBe(2_000);
    expect(parseArgs(['--quick']).warmupMessages).toBe(0);
    expect(parseArgs(['--warmup-messages', '0']).warmupMessages).toBe(0);
    expect(parseArgs(['--warmup-messages=500', '--quick']).warmupMessages).toBe(500);
  });

  it('--body-kb sets the size of every delivered message (0, one line, by default)', () => {
    expect(parseArgs([]).bodyKb).toBe(0);
    expect(parseArgs(['--body-kb', '32']).bodyKb).toBe(32);
  });

  it.each([
    [['--body-kb', '-1']],
    [['--warmup-messages', '-1']],
    [['--kafka-brokers', '0']],
    [['--mode', 'cluster']],
    [['--messages', '-3']],
    [['--idle-mailboxes', 'many']],
    [['--mailboxes', '10', '--messages', '5']],
    [['--fast']],
  ])('refuses %j with the usage', (argv) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
  });
});
