import { baseOptions, compatible, kafkaLib, type KafkaConnection } from './kafka-client';

/** A topic as the platform wants it (the chart's topics.list, resolved: partitions, replication, configuration). */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
}

/** The two admin calls topic creation needs (the Kafka admin API: Metadata and CreateTopics). */
export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  createTopics(specs: readonly TopicSpec[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates the topics that do not exist yet, with their partitions, replication factor and configuration; existing
 * topics are left as they are (a partition count is never changed behind the operator's back). Idempotent: a second
 * run creates nothing. Used by the chart's topic Job (`docker/create-topics.cjs`) for clusters without Strimzi.
 */
export async function createMissingTopics(
  admin: TopicAdmin,
  specs: readonly TopicSpec[],
): Promise<{ created: string[]; existing: string[] }> {
  const present = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !present.has(s.name));
  if (missing.length > 0) await admin.createTopics(missing);
  return {
    created: missing.map((s) => s.name),
    existing: specs.filter((s) => present.has(s.name)).map((s) => s.name),
  };
}

/** The topic admin of a Kafka cluster, through the same client and security settings as the bus. */
export function kafkaTopicAdmin(options: {
  brokers: readonly string[];
  clientId: string;
  ssl?: KafkaConnection['ssl'];
  sasl?: KafkaConnection['sasl'];
}): TopicAdmin {
  const admin = compatible(
    new kafkaLib.Admin({
      ...baseOptions({
        brokers: options.brokers,
        clientId: options.clientId,
        ssl: options.ssl,
        sasl: options.sasl,
        connectTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
      }),
      retries: 5,
    }),
  );
  return {
    listTopics: () => admin.listTopics(),
    async createTopics(specs) {
      // One request per topic: partitions and replication are per request in the client's API.
      for (const s of specs) {
        await admin.createTopics({
          topics: [s.name],
          partitions: s.partitions,
          replicas: s.replicationFactor,
          configs: Object.entries(s.config).map(([name, value]) => ({ name, value })),
        });
      }
    },
    close: () => admin.close(),
  };
}
