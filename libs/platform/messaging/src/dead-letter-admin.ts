import type { DeadLetter } from './event-bus.port';

/** A dead letter as found in a dead-letter log. */
export interface ListedDeadLetter extends DeadLetter {
  /** Where it sits in `<topic>.dlq`: `<partition>:<offset>`. Stable, so a replay can select letters by it. */
  readonly position: string;
}

export interface ListDeadLettersOptions {
  /** At most this many letters, oldest first (default 1000). */
  readonly limit?: number;
}

/** A record written as is, without validation: what any foreign producer can put on a topic. */
export interface RawRecord {
  readonly key: string | null;
  readonly value: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Header set on a replayed event: the dead letter it came from. */
export const REPLAYED_FROM_HEADER = 'x-dlq-replayed-from';

/**
 * Lists the dead letters of a topic and sends them back to it (the operator's tool once the cause is fixed).
 * Dead letters are never removed: replaying twice delivers twice, and handlers deduplicate by event id.
 */
export interface DeadLetterAdmin {
  /** `topic` is the original topic; its letters are read from `<topic>.dlq`. */
  listDeadLetters(topic: string, options?: ListDeadLettersOptions): Promise<ListedDeadLetter[]>;
  /**
   * Publishes the selected letters (all by default) to their original topic exactly as they were received,
   * without validation (a letter that is still invalid comes back to the dead-letter log). Returns what was replayed.
   */
  replayDeadLetters(
    topic: string,
    select?: (letter: ListedDeadLetter) => boolean,
  ): Promise<ListedDeadLetter[]>;
}

/** Headers of the replayed record: the original ones, minus the dead-letter annotations. */
export function replayHeaders(
  original: Readonly<Record<string, string>>,
  position: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(original)) if (!name.startsWith('x-dlq-')) headers[name] = value;
  headers[REPLAYED_FROM_HEADER] = position;
  return headers;
}
