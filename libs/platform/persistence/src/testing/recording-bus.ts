import type { BusHealth, EventBus, OutgoingEvent, Subscription } from '@mailbridge/platform-messaging';

/** A bus for the relay's specs: records what reaches it; can be told to fail the next publishes. */
export class RecordingBus implements EventBus {
  readonly transport = 'in-process' as const;
  published: OutgoingEvent[] = [];
  failNext = 0;
  async publish(events: readonly OutgoingEvent[]) {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('broker unavailable');
    }
    this.published.push(...events);
  }
  async subscribe(): Promise<Subscription> {
    return { stop: async () => undefined };
  }
  async health(): Promise<BusHealth> {
    return { ok: true };
  }
  async close() {
    this.published = [];
  }
}
