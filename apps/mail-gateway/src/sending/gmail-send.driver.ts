import { Inject, Injectable } from '@nestjs/common';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import { GMAIL_QUOTA_UNITS, GmailApi } from '@mailbridge/providers-google';
import { OBJECT_STORE } from '../common/tokens';
import { MailboxAccess } from '../provider-access/mailbox-access';
import { ProviderCallPolicy, type CallTarget } from '../provider-access/provider-call.policy';
import { composeOutgoing } from './outgoing-mime';
import { NotSentError, type SendCommand, type SendRouteDriver } from './send-command';
import type { SendLogEntity } from './send-log.entity';
import type { SentOutcome } from './send-log.repository';

const bare = (messageId: string) => messageId.replace(/^<|>$/g, '');

/**
 * Gmail: `messages.send` through the upload path with the reply's `threadId` (SND-5); the Sent copy is found again
 * by `rfc822msgid:` when an earlier attempt's outcome is unknown (SND-6).
 */
@Injectable()
export class GmailSendDriver implements SendRouteDriver {
  constructor(
    private readonly gmail: GmailApi,
    private readonly policy: ProviderCallPolicy,
    private readonly access: MailboxAccess,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  private target(command: SendCommand): CallTarget {
    if (command.route.kind !== 'mailbox') throw new Error('not a mailbox route');
    return this.access.forConnection(command.route.connectionId, command.route.mailboxKey, 'google');
  }

  async findSent(command: SendCommand): Promise<SentOutcome | undefined> {
    const target = this.target(command);
    const found = await this.policy.run(
      target,
      { operation: 'users.messages.list', units: GMAIL_QUOTA_UNITS.messagesList, idempotent: true },
      (t) =>
        this.gmail.listMessages(t, {
          q: `rfc822msgid:${bare(command.rfcMessageId)} in:anywhere`,
          maxResults: 5,
        }),
    );
    const first = found.messages[0];
    return first ? this.outcome(target, first.id, first.threadId, command.rfcMessageId) : undefined;
  }

  async send(command: SendCommand, _log: SendLogEntity): Promise<SentOutcome> {
    if (command.route.kind !== 'mailbox') throw new Error('not a mailbox route');
    const route = command.route;
    const target = this.target(command);
    // SND-7: command.from is the mailbox address or a verified send-as alias (SendEmailUseCase checked it).
    const from = {
      ...(command.from?.name ? { name: command.from.name } : {}),
      address: command.from?.address ?? route.fromAddress,
    };
    const sent = await this.policy.run(
      target,
      { operation: 'users.messages.send', units: GMAIL_QUOTA_UNITS.messagesSend, idempotent: false },
      async (t) => {
        let raw;
        try {
          // Built per attempt: a stream cannot be replayed after a throttled attempt.
          raw = await composeOutgoing(command, from, (key) => this.store.get(key), { keepBcc: true });
        } catch (error) {
          throw new NotSentError(error);
        }
        return this.gmail.send(t, { raw, threadId: command.replyInProviderThreadId ?? undefined });
      },
    );
    return this.outcome(target, sent.id, sent.threadId, command.rfcMessageId);
  }

  /** Reads back the Message-ID Gmail actually used (it may differ from ours). */
  private async outcome(
    target: CallTarget,
    id: string,
    threadId: string,
    ours: string,
  ): Promise<SentOutcome> {
    const meta = await this.policy
      .run(
        target,
        { operation: 'users.messages.get', units: GMAIL_QUOTA_UNITS.messagesGet, idempotent: true },
        (t) => this.gmail.getMessageHeaders(t, id, ['Message-ID']),
      )
      .catch(() => undefined);
    return {
      providerMessageId: id,
      providerThreadId: threadId || meta?.threadId || null,
      providerRfcMessageId: meta?.headers['message-id']?.trim() || ours,
    };
  }
}
