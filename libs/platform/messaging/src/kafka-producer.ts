import type { Logger } from '@mailbridge/platform-observability';
import {
  baseOptions,
  compatible,
  errorText,
  KafkaConnection,
  kafkaLib,
  KafkaProducer,
  NEW_PRODUCER,
  recordToHeaders,
} from './kafka-client';

/** One record to write: bytes as they go on the wire. */
export interface ProducerRecord {
  readonly topic: string;
  readonly key: Buffer | string | null;
  readonly value: Buffer | string | null;
  readonly headers: Readonly<Record<string, string>>;
}

const toBuffer = (v: Buffer | string | null): Buffer | undefined =>
  v === null ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');

/**
 * The bus's one producer: acks from all in-sync replicas, idempotent by default (broker-side deduplication of
 * retries, per-partition order kept), one request in flight per broker so order also holds without idempotence.
 * Topics auto-create on first write where the cluster allows it.
 */
export class KafkaBusProducer {
  private readonly producer: KafkaProducer;
  private ready?: Promise<void>;
  private started = false;
  private lastError?: string;

  constructor(
    connection: KafkaConnection,
    private readonly idempotent: boolean,
    private readonly logger: Logger,
  ) {
    this.producer = compatible(
      new kafkaLib.Producer<Buffer, Buffer, Buffer, Buffer>({
        ...baseOptions(connection),
        idempotent,
        acks: kafkaLib.ProduceAcks.ALL,
        autocreateTopics: true,
        maxInflights: 1,
        retries: 5,
        retryDelay: 200,
      }),
    );
    this.producer.on('error', (error: unknown) => this.logger.warn({ err: error }, 'kafka producer error'));
  }

  /** Gets a producer id (idempotent) or at least one broker answer; rejects with the reason otherwise. */
  connect(): Promise<void> {
    this.ready ??= (async () => {
      if (this.idempotent) await this.producer.initIdempotentProducer({ ...NEW_PRODUCER });
      else await this.producer.metadata({ topics: [] });
    })().then(
      () => {
        this.started = true;
        this.lastError = undefined;
      },
      (error: unknown) => {
        this.ready = undefined;
        this.lastError = errorText(error);
        throw new Error(`Kafka producer could not start: ${errorText(error)}`, { cause: error });
      },
    );
    return this.ready;
  }

  /** Why the producer has not started, if it has not (later send failures are the broker probe's business). */
  problem(): string | undefined {
    return this.started ? undefined : (this.lastError ?? 'not started');
  }

  /** Resolves once every record is acknowledged by all in-sync replicas; rejects otherwise (nothing is promised). */
  async send(records: readonly ProducerRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.connect();
    try {
      await this.producer.send({
        messages: records.map((r) => ({
          topic: r.topic,
          key: toBuffer(r.key),
          value: toBuffer(r.value) ?? Buffer.alloc(0),
          headers: recordToHeaders(r.headers),
        })),
      });
    } catch (error) {
      throw new Error(`Kafka did not accept ${records.length} record(s): ${errorText(error)}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    await this.producer.close().catch(() => undefined);
  }
}
