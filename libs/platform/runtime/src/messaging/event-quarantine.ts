import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { eventCatalog, eventQuarantinedV1, type EventEnvelope } from '@mailbridge/contracts';
import {
  errorCodeOf,
  errorMessageOf,
  isPermanent,
  type DeliveryContext,
  type EventHandler,
} from '@mailbridge/platform-messaging';
import { runWithContext, type Logger, type ServiceMetrics } from '@mailbridge/platform-observability';
import {
  QuarantineRepository,
  type QuarantineFailure,
  type QuarantineItem,
  type QuarantineStatus,
  type UnitOfWork,
} from '@mailbridge/platform-persistence';
import { AppError } from '../http/app-error';
import type { ServiceHost } from '../service-host';
import { LOGGER, METRICS, SERVICE_HOST, UNIT_OF_WORK } from '../tokens';

const MAX_MESSAGE_LENGTH = 2_000;

export interface ConsumerBinding {
  /** The group within the service (`@OnEvent(definition, { group })`), as the inbox knows it. */
  readonly group: string;
  /** `<service>.<group>`, the bus's consumer group id. */
  readonly groupId: string;
  readonly handler: EventHandler;
}

export type RetryOutcome = 'resolved' | 'already_resolved' | 'failed';

export function failureOf(error: unknown): QuarantineFailure {
  const errorClass = error instanceof Error ? error.constructor.name || error.name || 'Error' : typeof error;
  return {
    code: errorCodeOf(error),
    errorClass,
    message: errorMessageOf(error).slice(0, MAX_MESSAGE_LENGTH),
  };
}

const SUBJECT_FIELDS = ['contactId', 'userId', 'connectionId', 'mailboxKey', 'providerMessageId'] as const;

/** What the failed event was about, from its payload's top-level fields, when it names them. */
function subjectOf(envelope: EventEnvelope): Record<(typeof SUBJECT_FIELDS)[number], string | null> {
  const payload = (typeof envelope.payload === 'object' && envelope.payload) || {};
  const pick = (k: string) => {
    const v = (payload as Record<string, unknown>)[k];
    return typeof v === 'string' && v.length <= 400 ? v : null;
  };
  return Object.fromEntries(SUBJECT_FIELDS.map((k) => [k, pick(k)])) as Record<
    (typeof SUBJECT_FIELDS)[number],
    string | null
  >;
}

function locationOf(envelope: EventEnvelope): string | null {
  const fromPayload = (envelope.payload as { locationId?: unknown } | null)?.locationId;
  const id = envelope.locationId ?? (typeof fromPayload === 'string' ? fromPayload : undefined);
  return id && /^[^\s/]{1,128}$/.test(id) ? id : null;
}

/**
 * Per-event failure isolation for every consumer of the service (SYN-10: one bad message never stops the rest). When a
 * handler fails for the last time (its policy's last attempt, or a PermanentEventError) the event is recorded in the
 * service's quarantine and `event.quarantined` is emitted, in one transaction, and the bus is told it was handled, so
 * the partition moves on. A redelivery of a quarantined event is settled without running the handler; a deliberate
 * retry (`POST /internal/quarantine/{id}/retry`) runs it, and the handler's inbox keeps its effect to one.
 */
@Injectable()
export class EventQuarantine {
  private readonly repository: QuarantineRepository;
  private readonly bindings = new Map<string, ConsumerBinding>();

  constructor(
    dataSource: DataSource,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_HOST) private readonly host: ServiceHost,
  ) {
    this.repository = new QuarantineRepository(dataSource);
  }

  /** The handler the bus runs for this consumer: the consumer's own, isolated. */
  bind(binding: ConsumerBinding): EventHandler {
    this.bindings.set(binding.group, binding);
    return async (event, context) => {
      // Once per delivery, not per attempt: a redelivered quarantined event must not hold the partition again.
      if (context.attempt === 1 && (await this.repository.contains(binding.group, event.id))) {
        this.logger.info(
          { groupId: binding.groupId, eventId: event.id, type: event.type },
          'quarantined event redelivered; settled without running it',
        );
        return;
      }
      try {
        await binding.handler(event, context);
      } catch (error) {
        if (!isPermanent(error) && context.attempt < context.maxAttempts) throw error;
        try {
          await this.quarantine(binding, event, context, error);
        } catch (recordError) {
          // Not recorded: the bus dead-letters it as before, so it is still not lost silently.
          this.logger.error(
            { err: recordError, groupId: binding.groupId, eventId: event.id },
            'could not quarantine the event; it goes to the dead-letter topic',
          );
          throw error;
        }
      }
    };
  }

  private async quarantine(
    binding: ConsumerBinding,
    event: EventEnvelope,
    context: DeliveryContext,
    error: unknown,
  ): Promise<void> {
    const failure = failureOf(error);
    const stage = `${this.host.name}.${binding.group}`;
    const id = await this.uow.run(async (tx) => {
      const inserted = await this.repository.insert(tx.manager, {
        consumerGroup: binding.group,
        stage,
        topic: context.topic,
        envelope: event,
        failure,
        attempts: context.attempt,
      });
      // A failed quarantine notice is kept but not announced again: that consumer failing must not loop.
      if (inserted && event.type !== eventQuarantinedV1.type) {
        tx.emit(eventQuarantinedV1, {
          quarantineId: inserted,
          service: this.host.name,
          stage,
          topic: context.topic,
          eventId: event.id,
          eventType: event.type,
          eventVersion: event.version,
          eventKey: event.key.slice(0, 1024),
          locationId: locationOf(event),
          subject: subjectOf(event),
          errorCode: failure.code.slice(0, 200),
          errorClass: failure.errorClass.slice(0, 200),
          errorMessage: failure.message,
          attempts: context.attempt,
          quarantinedAt: new Date().toISOString(),
        });
      }
      return inserted;
    });
    if (!id) return;
    this.metrics
      .counter('mailbridge_events_quarantined_total', 'Events quarantined after their last failed attempt', [
        'group',
        'code',
      ])
      .inc({ group: binding.groupId, code: failure.code });
    this.logger.error(
      {
        err: error,
        groupId: binding.groupId,
        topic: context.topic,
        eventId: event.id,
        type: event.type,
        attempts: context.attempt,
        quarantineId: id,
      },
      'event quarantined; the partition moves on',
    );
  }

  list(q: { status?: QuarantineStatus; limit: number; after?: string }): Promise<QuarantineItem[]> {
    return this.repository.list(q);
  }

  /**
   * Runs the consumer's handler for a quarantined event again. Its inbox records the effect once (a retry after a
   * crash between the effect and `resolve` finds the inbox row and does nothing); a resolved item is left as it is.
   */
  async retry(
    id: string,
  ): Promise<{ outcome: RetryOutcome; item: QuarantineItem; error?: QuarantineFailure }> {
    const item = await this.repository.find(id);
    if (!item) throw new AppError('not_found', 'quarantine_item_not_found', `No quarantined event ${id}`);
    if (item.status === 'resolved') return { outcome: 'already_resolved', item };
    const binding = this.bindings.get(item.consumerGroup);
    if (!binding) {
      throw new AppError(
        'conflict',
        'consumer_not_running',
        `Consumer group ${item.consumerGroup} is not running in this service`,
      );
    }
    const context: DeliveryContext = {
      topic: item.topic,
      groupId: binding.groupId,
      attempt: item.attempts + 1,
      maxAttempts: item.attempts + 1,
      partition: -1,
      offset: '-1',
    };
    try {
      // Validated again: after an upgrade the stored event may no longer fit its schema (then the retry fails).
      const envelope = eventCatalog.deserialize(JSON.stringify(item.envelope), item.topic);
      await runWithContext({ correlationId: envelope.correlationId, traceparent: envelope.traceparent }, () =>
        binding.handler(envelope, context),
      );
    } catch (error) {
      const failure = failureOf(error);
      await this.repository.recordFailure(id, failure);
      this.logger.warn({ err: error, quarantineId: id, groupId: binding.groupId }, 'quarantine retry failed');
      return { outcome: 'failed', item: (await this.repository.find(id)) ?? item, error: failure };
    }
    await this.repository.resolve(id);
    this.logger.info(
      { quarantineId: id, groupId: binding.groupId, eventId: item.eventId },
      'quarantine retry resolved',
    );
    return { outcome: 'resolved', item: (await this.repository.find(id)) ?? item };
  }
}
