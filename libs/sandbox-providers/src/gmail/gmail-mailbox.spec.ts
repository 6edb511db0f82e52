import { ManualClock } from '../shared/clock';
import { IdFactory } from '../shared/id-factory';
import { parseMime } from '../shared/mime-parser';
import { GmailMailbox } from './gmail-mailbox';

const raw = (subject: string) =>
  Buffer.from(`From: a@x.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@x.test>\r\n\r\nbody`);

describe('Gmail mailbox history', () => {
  const setup = (retentionMs = 7 * 86_400_000) => {
    const clock = new ManualClock(Date.UTC(2025, 0, 1));
    const mailbox = new GmailMailbox('u@x.test', 'U', clock, new IdFactory(42), () => retentionMs);
    const add = (s: string) => mailbox.addMessage(raw(s), parseMime(raw(s)), ['INBOX']);
    return { clock, mailbox, add };
  };

  it('gives messages 16-hex ids that start with the hex timestamp, and increasing history ids with gaps', () => {
    const { mailbox, add, clock } = setup();
    const start = mailbox.historyId;
    const a = add('one');
    const b = add('two');
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(a.id.startsWith(clock.now().toString(16))).toBe(true);
    expect(a.id).not.toBe(b.id);
    expect(a.historyId).toBeGreaterThan(start);
    expect(b.historyId).toBeGreaterThan(a.historyId);
    expect(mailbox.history.map((h) => h.kind)).toEqual(['messageAdded', 'messageAdded']);
  });

  it('answers a startHistoryId inside the window and rejects one older than the retained records', () => {
    const { mailbox, add, clock } = setup(86_400_000);
    const cursor = mailbox.historyId;
    add('old');
    expect(mailbox.isStale(cursor)).toBe(false);
    clock.advance(86_400_000 + 1);
    add('new');
    expect(mailbox.isStale(cursor)).toBe(true);
    expect(mailbox.history.map((h) => h.messageId)).toHaveLength(1);
  });

  it('expireHistory makes every earlier cursor stale but not the current one', () => {
    const { mailbox, add } = setup();
    const cursor = mailbox.historyId;
    add('x');
    mailbox.expireHistory();
    expect(mailbox.isStale(cursor)).toBe(true);
    expect(mailbox.isStale(mailbox.historyId)).toBe(false);
  });

  it('records label changes with the changed labels only', () => {
    const { mailbox, add } = setup();
    const m = add('labels');
    const records = mailbox.modifyLabels(m, ['STARRED', 'INBOX'], ['UNREAD', 'INBOX']);
    expect(records.map((r) => [r.kind, r.changedLabels])).toEqual([['labelAdded', ['STARRED']]]);
  });

  it('threads by the requested thread id and tracks Message-IDs per thread', () => {
    const { mailbox, add } = setup();
    const first = add('root');
    const second = mailbox.addMessage(raw('reply'), parseMime(raw('reply')), ['SENT'], first.threadId);
    expect(second.threadId).toBe(first.threadId);
    expect(mailbox.threadView(first.threadId)?.messageIds).toEqual(['<root@x.test>', '<reply@x.test>']);
    expect(mailbox.threadOfMessageId('<REPLY@x.test>')?.id).toBe(first.threadId);
  });

  it('finds the records after a history id and a record by id by binary search, whatever the gaps', () => {
    const { mailbox, add } = setup();
    const start = mailbox.historyId;
    const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => add(x).historyId);
    expect(mailbox.historyIndexAfter(start)).toBe(0);
    expect(mailbox.historyIndexAfter(ids[1])).toBe(2);
    expect(mailbox.historyIndexAfter(ids[1] + 1)).toBe(ids[2] === ids[1] + 1 ? 3 : 2);
    expect(mailbox.historyIndexAfter(ids[4])).toBe(5);
    expect(mailbox.historyRecord(ids[3])?.messageId).toBe(mailbox.history[3].messageId);
    expect(mailbox.historyRecord(start)).toBeUndefined();
    expect(mailbox.historyRecord(ids[4] + 1)).toBeUndefined();
  });
});
