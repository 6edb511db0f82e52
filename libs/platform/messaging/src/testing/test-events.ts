import { z } from 'zod';
import { defineEvent, EventCatalog, EventDefinition, EventEnvelope, TopicName } from '@mailbridge/contracts';

/** The payload of every test event: `key` orders, `seq` numbers the events of one key. */
export const pingPayload = z.object({
  key: z.string().min(1),
  seq: z.number().int().nonnegative(),
  note: z.string().optional(),
});
export type PingPayload = z.infer<typeof pingPayload>;

export type PingDefinition = EventDefinition<string, typeof pingPayload>;

/**
 * One test-only stream per scenario (outside the platform's topic list, hence the cast), so scenarios in one
 * cluster or one bus never read each other's events.
 */
export class TestEvents {
  readonly catalog: EventCatalog;
  private readonly definitions = new Map<string, PingDefinition>();

  constructor(
    scenarios: readonly string[],
    readonly prefix = 'test',
  ) {
    for (const scenario of scenarios) {
      this.definitions.set(
        scenario,
        defineEvent({
          type: `${prefix}-${scenario}.pinged`,
          version: 1,
          topic: `${prefix}.${scenario}.v1` as TopicName,
          description: `Test event of the ${scenario} scenario`,
          payload: pingPayload,
          key: (p) => p.key,
        }),
      );
    }
    this.catalog = new EventCatalog([...this.definitions.values()]);
  }

  definition(scenario: string): PingDefinition {
    const def = this.definitions.get(scenario);
    if (!def) throw new Error(`No test event for scenario ${scenario}`);
    return def;
  }

  topic(scenario: string): string {
    return this.definition(scenario).topic;
  }

  ping(
    scenario: string,
    payload: PingPayload,
    context: { correlationId?: string; id?: string } = {},
  ): { topic: string; envelope: EventEnvelope<PingPayload> } {
    const def = this.definition(scenario);
    return { topic: def.topic, envelope: this.catalog.create(def, payload, context) };
  }
}
