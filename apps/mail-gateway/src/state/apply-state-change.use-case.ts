import { Inject, Injectable } from '@nestjs/common';
import {
  messageStateChangeFailedV1,
  type PayloadOf,
  type messageStateChangeRequestedV1,
} from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { LOGGER } from '@mailbridge/platform-runtime';
import { GMAIL_QUOTA_UNITS, GmailApi } from '@mailbridge/providers-google';
import { GraphMailApi } from '@mailbridge/providers-microsoft';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxAccess } from '../provider-access/mailbox-access';
import { ProviderCallPolicy, type CallTarget } from '../provider-access/provider-call.policy';
import { asProviderFailure } from '../provider-access/provider-failure';
import { MessageStateRepository } from './message-state.repository';

type Request = PayloadOf<typeof messageStateChangeRequestedV1>;
type RequestedMessage = Request['messages'][number];

/** Gmail's limit per batchModify call. */
const BATCH_MAX = 1000;

interface Outcome {
  readonly applied: RequestedMessage[];
  readonly failed: { message: RequestedMessage; reason: string; detail: string }[];
}

/**
 * SYN-7, CRM → mailbox: marks messages read or unread in the mailbox (Gmail: one `messages.modify`, or
 * `batchModify` of up to 1000 when several change at once; Graph: `PATCH isRead` each), within the mailbox's quota
 * budget. What was applied is remembered as the known state, so the same change coming back through history/delta
 * is no change and is not bounced to the CRM. A message that no longer exists (or a mailbox no longer connected)
 * becomes `message.state-change-failed`, which the CRM sees as a sync event. Provider calls happen before the
 * transaction; a retry repeats them harmlessly (setting a label or a flag twice is the same).
 */
@Injectable()
export class ApplyStateChangeUseCase {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly access: MailboxAccess,
    private readonly policy: ProviderCallPolicy,
    private readonly gmail: GmailApi,
    private readonly graph: GraphMailApi,
    private readonly states: MessageStateRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Calls the provider; answers what to record (in `record`, inside the consumer's transaction). */
  async apply(request: Request): Promise<{ mailbox: MailboxEntity | null; outcome: Outcome }> {
    const mailbox = await this.mailboxes.findByKey(request.mailboxKey);
    if (!mailbox || mailbox.desired !== 'active') {
      return {
        mailbox,
        outcome: {
          applied: [],
          failed: request.messages.map((message) => ({
            message,
            reason: 'mailbox_not_connected',
            detail: 'The mailbox is not connected: the change was not made in the mailbox',
          })),
        },
      };
    }
    const target = this.access.forMailbox(mailbox);
    const outcome =
      mailbox.provider === 'google'
        ? await this.applyGmail(target, request.messages, request.read)
        : await this.applyGraph(target, request.messages, request.read);
    this.logger.info(
      {
        mailboxId: mailbox.id,
        read: request.read,
        applied: outcome.applied.length,
        failed: outcome.failed.length,
      },
      'CRM state change applied in the mailbox (SYN-7)',
    );
    return { mailbox, outcome };
  }

  async record(
    tx: TransactionContext,
    request: Request,
    mailbox: MailboxEntity | null,
    outcome: Outcome,
  ): Promise<void> {
    const at = new Date();
    if (mailbox) {
      for (const m of outcome.applied) {
        await this.states.save(tx.manager, mailbox.id, m.providerMessageId, { read: request.read }, at, true);
      }
    }
    for (const f of outcome.failed) {
      tx.emit(messageStateChangeFailedV1, {
        requestId: request.requestId,
        locationId: request.locationId,
        connectionId: request.connectionId,
        mailboxKey: request.mailboxKey,
        messageId: f.message.messageId,
        providerMessageId: f.message.providerMessageId,
        read: request.read,
        reason: f.reason,
        detail: f.detail,
        failedAt: at.toISOString(),
      });
    }
  }

  private async applyGmail(
    target: CallTarget,
    messages: RequestedMessage[],
    read: boolean,
  ): Promise<Outcome> {
    const change = read ? { remove: ['UNREAD'] } : { add: ['UNREAD'] };
    const outcome: Outcome = { applied: [], failed: [] };
    const one = async (m: RequestedMessage) => {
      const failure = await this.attempt(() =>
        this.policy.run(
          target,
          { operation: 'users.messages.modify', units: GMAIL_QUOTA_UNITS.messagesModify, idempotent: true },
          (t) => this.gmail.modifyLabels(t, m.providerMessageId, change),
        ),
      );
      if (failure) outcome.failed.push({ message: m, ...failure });
      else outcome.applied.push(m);
    };
    if (messages.length === 1) {
      await one(messages[0]);
      return outcome;
    }
    for (let i = 0; i < messages.length; i += BATCH_MAX) {
      const chunk = messages.slice(i, i + BATCH_MAX);
      const failure = await this.attempt(() =>
        this.policy.run(
          target,
          {
            operation: 'users.messages.batchModify',
            units: GMAIL_QUOTA_UNITS.messagesBatchModify,
            idempotent: true,
          },
          (t) =>
            this.gmail.batchModifyLabels(
              t,
              chunk.map((m) => m.providerMessageId),
              change,
            ),
        ),
      );
      if (!failure) outcome.applied.push(...chunk);
      // All or nothing: one id gone fails the batch; one by one then tells which.
      else for (const m of chunk) await one(m);
    }
    return outcome;
  }

  private async applyGraph(
    target: CallTarget,
    messages: RequestedMessage[],
    read: boolean,
  ): Promise<Outcome> {
    const outcome: Outcome = { applied: [], failed: [] };
    for (const m of messages) {
      const failure = await this.attempt(() =>
        this.policy.run(target, { operation: 'messages.update', idempotent: true }, (t) =>
          this.graph.setRead(t, m.providerMessageId, read),
        ),
      );
      if (failure) outcome.failed.push({ message: m, ...failure });
      else outcome.applied.push(m);
    }
    return outcome;
  }

  /** Runs a call; a failure that retrying cannot fix is answered, anything else (throttling, outages) is thrown. */
  private async attempt(
    call: () => Promise<unknown>,
  ): Promise<{ reason: string; detail: string } | undefined> {
    try {
      await call();
      return undefined;
    } catch (error) {
      const failure = asProviderFailure(error);
      if (failure?.code === 'not_found')
        return { reason: 'message_not_found', detail: 'The message no longer exists in the mailbox' };
      if (failure?.code === 'invalid_request')
        return { reason: 'provider_rejected', detail: failure.message.slice(0, 1000) };
      throw error;
    }
  }
}
