import { compareSortKeys, placeInThread, sortKeyOf, type SortKey } from './message-order';

const d = (iso: string) => new Date(iso);
const key = (second: string, receivedAt: string): SortKey => ({
  second: d(second),
  receivedAt: d(receivedAt),
});

describe('message order (SYN-6)', () => {
  it('places a message at the whole second of its date, tie-broken by when the provider received it', () => {
    expect(
      sortKeyOf({
        sortAt: d('2026-11-20T10:00:00.000Z'),
        sentAt: d('2026-11-20T10:00:00.000Z'),
        receivedAt: d('2026-11-20T10:00:01.200Z'),
      }),
    ).toEqual(key('2026-11-20T10:00:00.000Z', '2026-11-20T10:00:01.200Z'));
  });

  it('places a pending CRM send at its request time, then at its provider sentAt, then at when its Sent copy was received', () => {
    const requested = d('2026-11-20T10:00:00.700Z');
    expect(sortKeyOf({ sortAt: requested, sentAt: null, receivedAt: null })).toEqual(
      key('2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.700Z'),
    );
    expect(sortKeyOf({ sortAt: requested, sentAt: d('2026-11-20T10:00:01.100Z'), receivedAt: null })).toEqual(
      key('2026-11-20T10:00:01.000Z', '2026-11-20T10:00:01.100Z'),
    );
    expect(
      sortKeyOf({
        sortAt: requested,
        sentAt: d('2026-11-20T10:00:01.100Z'),
        receivedAt: d('2026-11-20T10:00:01.300Z'),
      }),
    ).toEqual(key('2026-11-20T10:00:01.000Z', '2026-11-20T10:00:01.300Z'));
  });

  it('truncates dates before 1970 down, not towards zero', () => {
    expect(
      sortKeyOf({ sortAt: d('1969-12-31T23:59:59.500Z'), sentAt: null, receivedAt: null }).second,
    ).toEqual(d('1969-12-31T23:59:59.000Z'));
  });

  it('compares by second, then receivedAt', () => {
    const a = key('2026-11-20T10:00:00Z', '2026-11-20T10:00:05Z');
    const b = key('2026-11-20T10:00:01Z', '2026-11-20T10:00:01Z');
    expect(compareSortKeys(a, b)).toBeLessThan(0);
    expect(compareSortKeys(b, a)).toBeGreaterThan(0);
    expect(compareSortKeys(a, key('2026-11-20T10:00:00Z', '2026-11-20T10:00:06Z'))).toBeLessThan(0);
  });

  it('keeps a reply after its parent and a message before its first reply, and leaves an ordered thread alone', () => {
    const parent = key('2026-11-20T10:00:01Z', '2026-11-20T10:00:01.100Z');
    const early = key('2026-11-20T10:00:00Z', '2026-11-20T10:00:01.500Z');
    expect(placeInThread(early, { parent })).toEqual(key('2026-11-20T10:00:01Z', '2026-11-20T10:00:01.101Z'));

    const reply = key('2026-11-20T10:00:00Z', '2026-11-20T10:00:01.500Z');
    const late = key('2026-11-20T10:00:01Z', '2026-11-20T10:00:01.100Z');
    expect(placeInThread(late, { firstReply: reply })).toEqual(
      key('2026-11-20T10:00:00Z', '2026-11-20T10:00:01.499Z'),
    );

    const inOrder = key('2026-11-20T10:00:02Z', '2026-11-20T10:00:02Z');
    expect(
      placeInThread(inOrder, { parent, firstReply: key('2026-11-20T10:00:03Z', '2026-11-20T10:00:03Z') }),
    ).toBe(inOrder);
  });
});
