import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type * as Platformatic from '@platformatic/kafka';

/**
 * The Kafka client library (@platformatic/kafka, pure JavaScript; see docs/architecture.md "Kafka client"), loaded
 * in one place. It ships ES modules only: Node 24 `require`s them natively; the tests compile them (jest.config.js).
 */
export const kafkaLib: typeof Platformatic = require('@platformatic/kafka');

export type KafkaProducer = Platformatic.Producer<Buffer, Buffer, Buffer, Buffer>;
export type KafkaConsumer = Platformatic.Consumer<Buffer, Buffer, Buffer, Buffer>;
export type KafkaAdmin = Platformatic.Admin;
export type KafkaMessage = Platformatic.Message<Buffer, Buffer, Buffer, Buffer>;
export type KafkaMessagesStream = Platformatic.MessagesStream<Buffer, Buffer, Buffer, Buffer>;

export type KafkaSaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface KafkaSasl {
  readonly mechanism: KafkaSaslMechanism;
  readonly username: string;
  readonly password: string;
}

/** How every client of one bus reaches the brokers. */
export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** TLS to the brokers: `true` for the system CAs (plus EXTRA_CA_CERTS_FILE), or Node TLS options. */
  readonly ssl?: boolean | TlsConnectionOptions;
  readonly sasl?: KafkaSasl;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

const SASL_MECHANISMS = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
} as const;

/** The options every client (producer, consumer, admin) shares. */
export function baseOptions(connection: KafkaConnection, clientSuffix?: string) {
  const tls = connection.ssl === true ? {} : connection.ssl || undefined;
  return {
    clientId: clientSuffix ? `${connection.clientId}-${clientSuffix}` : connection.clientId,
    bootstrapBrokers: [...connection.brokers],
    connectTimeout: connection.connectTimeoutMs,
    timeout: connection.requestTimeoutMs,
    ...(tls ? { tls } : {}),
    ...(connection.sasl
      ? {
          sasl: {
            mechanism: SASL_MECHANISMS[connection.sasl.mechanism],
            username: connection.sasl.username,
            password: connection.sasl.password,
          },
        }
      : {}),
  };
}

/** Highest ListOffsets version we speak (see compatible()). */
const MAX_LIST_OFFSETS_VERSION = 3;
/** How long a group leader waits before sending its assignment (see compatible()). */
const LEADER_SYNC_DELAY_MS = 250;

interface ApiVersion {
  name: string;
  minVersion: number;
  maxVersion: number;
}
type Callback<T> = (error: Error | null, value: T) => void;
type ApiFunction = ((connection: unknown, ...args: unknown[]) => void) & Record<string, unknown>;
interface Internals {
  [key: symbol]: unknown;
}

/**
 * Makes a client work against librdkafka's mock cluster (the test and e2e broker) as well as real Kafka; both
 * adjustments are valid Kafka protocol and cost nothing measurable on a real cluster:
 * - ListOffsets is capped at v3: the mock (librdkafka 2.0) encodes v4/v5 responses wrongly (the client misreads
 *   them: "UNKNOWN_SERVER_ERROR"). v3 has everything we use (earliest/latest offsets); brokers since 0.11 speak it.
 * - a group leader sends its SyncGroup a moment after the followers: the mock completes a generation as soon as
 *   the leader's assignment arrives and answers a later follower SyncGroup with INVALID_REQUEST, which is what made
 *   a second replica of a service die at start (real brokers accept followers in any order).
 */
export function compatible<T extends object>(client: T): T {
  const internals = client as unknown as Internals;
  const listApis = internals[kafkaLib.kListApis] as (cb: Callback<ApiVersion[]>) => void;
  internals[kafkaLib.kListApis] = function (this: unknown, callback: Callback<ApiVersion[]>) {
    listApis.call(this, (error, apis) =>
      callback(
        error,
        error
          ? apis
          : apis.map((api) =>
              api.name === 'ListOffsets'
                ? { ...api, maxVersion: Math.min(api.maxVersion, MAX_LIST_OFFSETS_VERSION) }
                : api,
            ),
      ),
    );
  };
  const getApi = internals[kafkaLib.kGetApi] as (name: string, cb: Callback<ApiFunction>) => void;
  internals[kafkaLib.kGetApi] = function (this: unknown, name: string, callback: Callback<ApiFunction>) {
    getApi.call(this, name, (error, api) => {
      if (error || name !== 'SyncGroup') return callback(error, api);
      const delayed = ((connection: unknown, ...args: unknown[]) => {
        // Only the leader sends assignments.
        const assignments = args.find(Array.isArray) as unknown[] | undefined;
        if (assignments?.length) setTimeout(() => api(connection, ...args), LEADER_SYNC_DELAY_MS);
        else api(connection, ...args);
      }) as ApiFunction;
      callback(null, Object.assign(delayed, { async: api.async, key: api.key, version: api.version }));
    });
  };
  return client;
}

/** A producer id request that any broker answers, the mock cluster included (the library's default asks for 0/0). */
export const NEW_PRODUCER = { producerId: -1n, producerEpoch: -1 } as const;

export function headersToRecord(headers: Map<Buffer, Buffer> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers ?? []) out[name.toString('utf8')] = value?.toString('utf8') ?? '';
  return out;
}

export function recordToHeaders(headers: Readonly<Record<string, string>>): Map<Buffer, Buffer> {
  return new Map(Object.entries(headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]));
}

export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const nested = (error as { errors?: unknown[] }).errors;
  return Array.isArray(nested) && nested.length
    ? `${error.message} (${nested.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')})`
    : error.message;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
