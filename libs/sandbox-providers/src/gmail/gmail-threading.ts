/**
 * Gmail's threading rules, kept pure so they can be unit tested.
 *
 * Sender side (`messages.send`): a message joins the requested thread only when all three hold: `threadId` is set,
 * `In-Reply-To`/`References` name a message of that thread, and the normalized subjects match. Otherwise Gmail
 * silently starts a new thread. Receiving side: a message joins a thread when it references one of the thread's
 * messages and the normalized subject matches. A thread holds at most 100 messages.
 */

export const MAX_THREAD_SIZE = 100;

export interface ThreadView {
  id: string;
  /** Message-ID header values (with brackets) of the thread's messages. */
  messageIds: string[];
  /** Normalized subjects of the thread's messages. */
  subjects: string[];
  size: number;
}

export type Placement = { join: true; threadId: string } | { join: false; reason: string };

function subjectMatches(thread: ThreadView, subject: string): boolean {
  return thread.subjects.includes(subject);
}

function referencesThread(thread: ThreadView, references: string[]): boolean {
  const ids = new Set(thread.messageIds.map((m) => m.toLowerCase()));
  return references.some((r) => ids.has(r.toLowerCase()));
}

export function placeSentMessage(input: {
  requestedThreadId?: string;
  thread?: ThreadView;
  references: string[];
  normalizedSubject: string;
}): Placement {
  if (!input.requestedThreadId) return { join: false, reason: 'no threadId' };
  const thread = input.thread;
  if (!thread) return { join: false, reason: 'unknown threadId' };
  if (!referencesThread(thread, input.references)) {
    return { join: false, reason: 'In-Reply-To/References do not name a message of the thread' };
  }
  if (!subjectMatches(thread, input.normalizedSubject)) return { join: false, reason: 'subject differs' };
  if (thread.size >= MAX_THREAD_SIZE) return { join: false, reason: 'thread is full' };
  return { join: true, threadId: thread.id };
}

/** Picks the thread an inbound message joins, preferring the most recent reference (References are oldest-first). */
export function placeInboundMessage(input: {
  references: string[];
  normalizedSubject: string;
  threadOf: (messageId: string) => ThreadView | undefined;
}): Placement {
  for (const ref of [...input.references].reverse()) {
    const thread = input.threadOf(ref);
    if (!thread) continue;
    if (!subjectMatches(thread, input.normalizedSubject)) continue;
    if (thread.size >= MAX_THREAD_SIZE) continue;
    return { join: true, threadId: thread.id };
  }
  return { join: false, reason: 'no referenced thread with the same subject' };
}
