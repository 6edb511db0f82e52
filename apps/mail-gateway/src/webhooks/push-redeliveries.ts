/** How long a handed-off push's id is remembered, and how many at most (older ones are forgotten first). */
export interface PushRedeliveriesOptions {
  readonly rememberMs: number;
  readonly maxRemembered: number;
  readonly now?: () => number;
}

export type HandOffOutcome = 'handed_off' | 'redelivery';

/**
 * Pub/Sub sends a push again (same message id) when the first was not acknowledged within the ack deadline, also
 * while that first attempt is still waiting for the database. Under load, every late answer so became one more
 * hand-off, each as costly as the first, which made the answers later still (issue 16: 5,431 pushes handled for 40
 * notifications). Here a push id is handed off once per process: a redelivery joins the attempt in flight, or is
 * answered at once after its commit. Only a committed hand-off is remembered, so an attempt that failed is tried
 * again by the next delivery; a process that restarts (or another replica) hands a redelivery off again, a harmless
 * duplicate (a pull request coalesces with the others).
 */
export class PushRedeliveries {
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Committed push ids with when they committed, oldest first (a Map keeps insertion order). */
  private readonly committed = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: PushRedeliveriesOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Runs `handOff` unless the push `id` was handed off (or is being handed off) already; no id: always runs. */
  async once(id: string | undefined, handOff: () => Promise<void>): Promise<HandOffOutcome> {
    if (id === undefined) {
      await handOff();
      return 'handed_off';
    }
    this.forgetExpired();
    if (this.committed.has(id)) return 'redelivery';
    const running = this.inFlight.get(id);
    if (running) {
      // Its outcome is ours: a failure is answered as a failure, and Pub/Sub sends the push again.
      await running;
      return 'redelivery';
    }
    const attempt = handOff().then(() => this.remember(id));
    this.inFlight.set(id, attempt);
    try {
      await attempt;
    } finally {
      this.inFlight.delete(id);
    }
    return 'handed_off';
  }

  private remember(id: string): void {
    this.committed.set(id, this.now());
    while (this.committed.size > this.options.maxRemembered) {
      const oldest = this.committed.keys().next().value as string;
      this.committed.delete(oldest);
    }
  }

  private forgetExpired(): void {
    const cutoff = this.now() - this.options.rememberMs;
    for (const [id, at] of this.committed) {
      if (at > cutoff) return;
      this.committed.delete(id);
    }
  }
}
