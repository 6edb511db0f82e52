import { MAX_THREAD_SIZE, placeInboundMessage, placeSentMessage, type ThreadView } from './gmail-threading';

const thread: ThreadView = { id: 't1', messageIds: ['<a@x>', '<b@x>'], subjects: ['proposal'], size: 2 };

describe('Gmail sender-side thread placement', () => {
  const base = { requestedThreadId: 't1', thread, references: ['<a@x>'], normalizedSubject: 'proposal' };

  it('joins when threadId, references and subject all match', () => {
    expect(placeSentMessage(base)).toEqual({ join: true, threadId: 't1' });
  });

  it.each([
    ['no threadId', { requestedThreadId: undefined }],
    ['an unknown threadId', { thread: undefined }],
    ['references outside the thread', { references: ['<zzz@x>'] }],
    ['no references', { references: [] }],
    ['a different subject', { normalizedSubject: 'something else' }],
    ['a full thread', { thread: { ...thread, size: MAX_THREAD_SIZE } }],
  ])('starts a new thread with %s', (_name, change) => {
    expect(placeSentMessage({ ...base, ...change }).join).toBe(false);
  });

  it('compares Message-IDs case-insensitively', () => {
    expect(placeSentMessage({ ...base, references: ['<A@X>'] }).join).toBe(true);
  });
});

describe('Gmail receiving-side thread placement', () => {
  const threads: Record<string, ThreadView> = {
    '<a@x>': thread,
    '<c@x>': { id: 't2', messageIds: ['<c@x>'], subjects: ['other'], size: 1 },
  };
  const threadOf = (id: string) => threads[id];

  it('joins the thread of a referenced message with the same subject', () => {
    expect(placeInboundMessage({ references: ['<a@x>'], normalizedSubject: 'proposal', threadOf })).toEqual({
      join: true,
      threadId: 't1',
    });
  });

  it('prefers the most recent reference', () => {
    expect(
      placeInboundMessage({ references: ['<a@x>', '<c@x>'], normalizedSubject: 'other', threadOf }),
    ).toEqual({ join: true, threadId: 't2' });
  });

  it('starts a new thread when the subject changed or nothing is referenced', () => {
    expect(
      placeInboundMessage({ references: ['<a@x>'], normalizedSubject: 'new topic', threadOf }).join,
    ).toBe(false);
    expect(placeInboundMessage({ references: [], normalizedSubject: 'proposal', threadOf }).join).toBe(false);
  });
});
