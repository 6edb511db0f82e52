// The in-process bus's dead letters: kept per `<topic>.dlq` in memory, loaded from and appended to an optional
// durable store (Kafka has its `<topic>.dlq` topics instead).
import { DLQ_SUFFIX } from '@mailbridge/contracts';
import type { ListedDeadLetter } from './dead-letter-admin';
import { DeadLetterHeaders, type DeadLetter } from './event-bus.port';

/** Durable dead letters for the in-process bus (Kafka has its `<topic>.dlq` topics). */
export interface DeadLetterStore {
  /** The letters kept so far, oldest first (read once, when the bus is created). */
  load(): ListedDeadLetter[];
  /** Resolves once the letter survives a crash of the process. */
  append(letter: ListedDeadLetter): Promise<void>;
}

export class InProcessDeadLetters {
  private readonly byTopic = new Map<string, ListedDeadLetter[]>();

  constructor(private readonly store?: DeadLetterStore) {
    for (const letter of store?.load() ?? []) this.lettersOf(letter.topic).push(letter);
  }

  /** The letters of original topic `topic`, oldest first. */
  of(topic: string): ListedDeadLetter[] {
    return this.byTopic.get(`${topic}${DLQ_SUFFIX}`) ?? [];
  }

  /** Letters per original topic, counting those of the groups `mine` keeps. */
  counts(mine: (groupId: string) => boolean): Array<{ topic: string; count: number }> {
    return [...this.byTopic].map(([dlqTopic, letters]) => ({
      topic: dlqTopic.slice(0, -DLQ_SUFFIX.length),
      count: letters.filter((l) => mine(l.headers[DeadLetterHeaders.groupId] ?? '')).length,
    }));
  }

  /** Resolves once the letter is stored (durably, with a store). */
  async add(topic: string, letter: DeadLetter): Promise<void> {
    const letters = this.lettersOf(`${topic}${DLQ_SUFFIX}`);
    const listed: ListedDeadLetter = {
      ...letter,
      topic: `${topic}${DLQ_SUFFIX}`,
      position: `0:${letters.length}`,
    };
    letters.push(listed); // now, so concurrent partitions get distinct positions
    await this.store?.append(listed);
  }

  /** The letters of one dead-letter topic (`<topic>.dlq`). */
  private lettersOf(dlqTopic: string): ListedDeadLetter[] {
    let letters = this.byTopic.get(dlqTopic);
    if (!letters) {
      letters = [];
      this.byTopic.set(dlqTopic, letters);
    }
    return letters;
  }
}
