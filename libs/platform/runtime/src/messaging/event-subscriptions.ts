import { Inject, Injectable, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import {
  subscribeConsumers,
  type BatchEventHandler,
  type EventBus,
  type Subscription,
} from '@mailbridge/platform-messaging';
import type { RetentionPruner, OutboxRelay, UnitOfWork } from '@mailbridge/platform-persistence';
import type { Logger } from '@mailbridge/platform-observability';
import { EVENT_BUS, RETENTION_PRUNER, LOGGER, OUTBOX_RELAY, SERVICE_HOST, UNIT_OF_WORK } from '../tokens';
import {
  ON_EVENT_BATCH_METADATA,
  ON_EVENT_METADATA,
  type OnEventBatchMetadata,
  type OnEventMetadata,
} from './on-event.decorator';
import type { ServiceHost } from '../service-host';
import { EventQuarantine } from './event-quarantine';
import { bindBatchConsumer, bindConsumer, type BoundMethod } from './event-binding';

/**
 * Finds every @OnEvent method once the application is initialised, binds it (its definitions, inbox and unit of work:
 * bindConsumer), subscribes them all through the service's one consumer group (isolated per event by the
 * quarantine: a last failure is recorded and the partition moves on; a transactional consumer also with its batch
 * path, bindBatchConsumer), and starts the outbox relay and the retention pruner; on shutdown stops consuming first, then lets the
 * relay publish what is left.
 */
@Injectable()
export class EventSubscriptions implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(RETENTION_PRUNER) private readonly retentionPruner: RetentionPruner,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_HOST) private readonly host: ServiceHost,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    private readonly quarantine: EventQuarantine,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.relay.start();
    this.retentionPruner.start();
    const seen = new Set<string>();
    const specs: Array<{
      groupId: string;
      options: OnEventMetadata;
      handler: ReturnType<EventQuarantine['bind']>;
      batch?: BatchEventHandler;
    }> = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const proto = Object.getPrototypeOf(instance) as object;
      const methods = this.scanner
        .getAllMethodNames(proto)
        .map((name) => instance[name])
        .filter((fn): fn is BoundMethod => typeof fn === 'function');
      // Batch paths of opted-out consumers (@OnEventBatch), by group, each claimed by its @OnEvent below.
      const companions = new Map<string, { fn: BoundMethod; meta: OnEventBatchMetadata }>();
      for (const fn of methods) {
        const meta = this.reflector.get<OnEventBatchMetadata | undefined>(ON_EVENT_BATCH_METADATA, fn);
        if (meta) companions.set(meta.group, { fn, meta });
      }
      for (const fn of methods) {
        const options = this.reflector.get<OnEventMetadata | undefined>(ON_EVENT_METADATA, fn);
        if (!options) continue;
        const groupId = `${this.host.name}.${options.group}`;
        if (seen.has(groupId)) throw new Error(`Consumer group ${groupId} is declared twice`);
        seen.add(groupId);
        const bound = fn.bind(instance);
        const single = bindConsumer(options, bound, this.uow);
        const handler = this.quarantine.bind({
          group: options.group,
          groupId,
          handler: (event, context) => single([event], context),
        });
        // Transactional consumers also take batches (one transaction each); a failed batch comes back as singles.
        // An @OnEventBatch companion takes the whole list instead (an opted-out consumer batches only through one).
        const companion = companions.get(options.group);
        companions.delete(options.group);
        if (companion && (options.batch || companion.meta.topic !== options.topic)) {
          throw new Error(
            `@OnEventBatch group ${options.group}: only for a single-event consumer of the same topic`,
          );
        }
        const batch = bindBatchConsumer(
          companion ? { ...options, transaction: true, batch: true } : options,
          companion ? companion.fn.bind(instance) : bound,
          this.uow,
        );
        specs.push({ groupId, options, handler, batch });
      }
      for (const group of companions.keys()) {
        throw new Error(`@OnEventBatch group ${group} has no @OnEvent consumer of that group in its class`);
      }
    }
    if (specs.length === 0) return;
    // One consumer group for the service (on Kafka one fetch loop and one heartbeat, not one per consumer); each
    // consumer keeps its own name `<service>.<group>` for its retries, dead letters, metrics and carry-over.
    this.subscriptions.push(
      await subscribeConsumers(this.bus, {
        groupId: this.host.name,
        consumers: specs.map(({ groupId, options, handler, batch }) => ({
          groupId,
          topics: [options.topic],
          handler,
          ...(batch ? { batch: { handler: batch } } : {}),
          retry: options.retry,
        })),
      }),
    );
    for (const { groupId, options } of specs)
      this.logger.info({ groupId, topic: options.topic }, 'consumer subscribed');
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.subscriptions.splice(0).map((s) => s.stop()));
    await this.relay.stop();
    await this.retentionPruner.stop();
  }
}
