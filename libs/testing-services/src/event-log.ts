import {
  eventCatalog,
  type EventDefinition,
  type EventEnvelope,
  type PayloadOf,
} from '@mailbridge/contracts';
import { expectEventually } from '@mailbridge/testing';

/** What a service under test published, recorded as another service would see it. */
export class EventLog {
  readonly events: EventEnvelope[] = [];

  of<D extends EventDefinition>(def: D, where: (p: PayloadOf<D>) => boolean = () => true): PayloadOf<D>[] {
    return this.events
      .filter((e) => eventCatalog.is(e, def))
      .map((e) => e.payload as PayloadOf<D>)
      .filter(where);
  }

  /** Waits until at least `count` events match, then returns them. */
  async waitFor<D extends EventDefinition>(
    def: D,
    where: (p: PayloadOf<D>) => boolean = () => true,
    count = 1,
    timeoutMs = 30_000,
  ): Promise<PayloadOf<D>[]> {
    return expectEventually(
      () => {
        const found = this.of(def, where);
        if (found.length < count) {
          throw new Error(`expected ${count} ${def.type} event(s), found ${found.length}`);
        }
        return found;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }
}
