/**
 * SYN-6: where a message is listed in its conversation. Messages are ordered by this key, then by arrival (`seq`).
 *
 * - `second`: the message's date at whole-second resolution. Date headers have no milliseconds, so a CRM send
 *   (placed at its request time, or its provider sentAt once sent) is compared with synced mail at the same resolution.
 * - `receivedAt`: within one second, when the provider received the message (Gmail internalDate, Graph
 *   receivedDateTime, in ms); for a CRM send not yet seen in the mailbox, its provider sentAt or else its request time.
 */
export interface SortKey {
  readonly second: Date;
  readonly receivedAt: Date;
}

/** What a message's own key is made of (the columns of the same names). */
export interface SortSource {
  /** The Date header, else when received; for a CRM send, when it was requested. */
  readonly sortAt: Date;
  readonly sentAt: Date | null;
  readonly receivedAt: Date | null;
}

export function sortKeyOf(m: SortSource): SortKey {
  const date = m.sentAt ?? m.sortAt;
  return {
    second: new Date(Math.floor(date.getTime() / 1000) * 1000),
    receivedAt: m.receivedAt ?? m.sentAt ?? m.sortAt,
  };
}

export function compareSortKeys(a: SortKey, b: SortKey): number {
  return a.second.getTime() - b.second.getTime() || a.receivedAt.getTime() - b.receivedAt.getTime();
}

export function sameSortKey(a: SortKey, b: SortKey): boolean {
  return compareSortKeys(a, b) === 0;
}

/**
 * A reply is never listed before the message it answers (In-Reply-To), nor a message after its replies, whatever the
 * clocks that wrote their Date headers say: the key is moved just after the parent, then just before the first reply.
 */
export function placeInThread(own: SortKey, thread: { parent?: SortKey; firstReply?: SortKey }): SortKey {
  let key = own;
  if (thread.parent && compareSortKeys(key, thread.parent) <= 0) {
    key = { second: thread.parent.second, receivedAt: new Date(thread.parent.receivedAt.getTime() + 1) };
  }
  if (thread.firstReply && compareSortKeys(key, thread.firstReply) >= 0) {
    key = {
      second: thread.firstReply.second,
      receivedAt: new Date(thread.firstReply.receivedAt.getTime() - 1),
    };
  }
  return key;
}

/** The earliest of these keys in listing order; on a tie the first given (recorded first, so the lower seq). */
export function earliestKey(keys: ReadonlyArray<SortKey | undefined>): SortKey | undefined {
  let best: SortKey | undefined;
  for (const key of keys) if (key && (!best || compareSortKeys(key, best) < 0)) best = key;
  return best;
}
