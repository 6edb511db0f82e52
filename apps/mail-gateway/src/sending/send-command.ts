import type { Readable } from 'node:stream';
import type { PayloadOf, sendRequestedV1 } from '@mailbridge/contracts';
import type { SentOutcome } from './send-log.repository';
import type { SendLogEntity } from './send-log.entity';

export type SendCommand = PayloadOf<typeof sendRequestedV1>;

/** A failure that certainly happened before the provider could send anything (safe to send again). */
export class NotSentError extends Error {
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'NotSentError';
  }
}

/** What a route needs to know to send, and to check whether an earlier attempt went out. */
export interface SendRouteDriver {
  /**
   * An earlier attempt with an unknown outcome (`sending`): did it go out? `undefined` = it certainly did not;
   * `'unknown'` = this route cannot tell (SMTP), so it must not be sent again.
   */
  findSent(command: SendCommand, log: SendLogEntity): Promise<SentOutcome | undefined | 'unknown'>;
  /** Sends once. `onDraftReady` lets a two-step provider record its draft before the final call. */
  send(
    command: SendCommand,
    log: SendLogEntity,
    onDraftReady: (draftId: string, rfcMessageId: string) => Promise<void>,
  ): Promise<SentOutcome>;
}

/** Bytes of an attachment from the object store, opened when the message is built. */
export type OpenAttachment = (objectKey: string) => Promise<Readable>;
