import { SetMetadata } from '@nestjs/common';
import type { TopicName } from '@mailbridge/contracts';
import type { RetryPolicy } from '@mailbridge/platform-messaging';

export const ON_EVENT_METADATA = 'mailbridge:on-event';

export interface OnEventOptions {
  readonly topic: TopicName;
  /** The consumer group within the service; the full group id is `<service>.<group>`. */
  readonly group: string;
  readonly retry?: Partial<RetryPolicy>;
}

/**
 * Marks a provider method as the handler of a topic. The method receives an envelope that already passed schema
 * validation; the bus owns retries and offsets, the platform quarantines an event after its last failed attempt
 * (EventQuarantine), the method owns its transaction (UnitOfWork.handleOnce).
 */
export const OnEvent = (options: OnEventOptions): MethodDecorator => SetMetadata(ON_EVENT_METADATA, options);
