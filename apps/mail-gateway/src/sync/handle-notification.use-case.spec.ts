import type { mailboxNotificationReceivedV1, PayloadOf } from '@mailbridge/contracts';
import { coalesceGmailPushes } from './handle-notification.use-case';

type Notification = PayloadOf<typeof mailboxNotificationReceivedV1>;
const gmail = (mailbox: string, historyId: string | undefined, second: number): Notification => ({
  provider: 'google',
  mailboxKey: `google:${mailbox}`,
  ...(historyId === undefined ? {} : { historyId }),
  receivedAt: `2026-12-06T10:00:${String(second).padStart(2, '0')}.000Z`,
});

describe('coalesceGmailPushes (issue 16: a mailbox backlog of pushes is one pull request)', () => {
  it("merges a mailbox's pushes into its first one: the highest history id, the latest receipt", () => {
    const out = coalesceGmailPushes([
      gmail('a', '150', 3),
      gmail('b', '7', 1),
      gmail('a', '1000', 2),
      gmail('a', '999', 5),
      gmail('b', '8', 4),
    ]);
    expect(out).toEqual([{ ...gmail('a', '1000', 5) }, { ...gmail('b', '8', 4) }]);
  });

  it('compares history ids as numbers, of any length', () => {
    const out = coalesceGmailPushes([
      gmail('a', '99999999999999999999', 1),
      gmail('a', '100000000000000000000', 2),
      gmail('a', '0200', 3),
    ]);
    expect(out).toEqual([gmail('a', '100000000000000000000', 3)]);
  });

  it('keeps a history id that is not a number (the pull then asks for everything)', () => {
    expect(coalesceGmailPushes([gmail('a', '5', 1), gmail('a', 'x1', 2), gmail('a', '9', 3)])).toEqual([
      gmail('a', 'x1', 3),
    ]);
  });

  it('leaves Graph notifications, lifecycle events and pushes without a history id alone, in order', () => {
    const graph: Notification = {
      provider: 'microsoft',
      mailboxKey: 'microsoft:c',
      subscriptionId: 's1',
      receivedAt: '2026-12-06T10:00:01.000Z',
    };
    const lifecycle: Notification = { ...graph, lifecycleEvent: 'reauthorizationRequired' };
    const bare = gmail('a', undefined, 2);
    const input = [graph, gmail('a', '5', 1), lifecycle, bare, graph, gmail('a', '6', 3)];
    expect(coalesceGmailPushes(input)).toEqual([graph, gmail('a', '6', 3), lifecycle, bare, graph]);
  });
});
