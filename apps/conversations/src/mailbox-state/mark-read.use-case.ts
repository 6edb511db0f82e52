import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { messageStateChangeRequestedV1 } from '@mailbridge/contracts';
import { applyStateChange } from '@mailbridge/domain-mail';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { AppError, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { MailboxStateRepository, type StateTarget } from './mailbox-state.repository';

/** Ids per state-change request (mail-gateway batches Gmail changes by up to 1000). */
const REQUEST_MAX = 1000;

/**
 * SYN-7, CRM → mailbox: the CRM marks a message, or every mailbox message of a conversation, read or unread. The
 * CRM copy changes at once (a `crm` change at the request time, last writer wins against mailbox changes), and in
 * the same transaction a `message.state-change-requested` per mailbox asks mail-gateway to apply it there. A message
 * deleted from its mailbox changes in the CRM only (there is nothing left to mark).
 */
@Injectable()
export class MarkReadUseCase {
  constructor(
    private readonly states: MailboxStateRepository,
    private readonly conversations: ConversationsRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  async message(locationId: string, messageId: string, read: boolean): Promise<void> {
    await this.uow.run(async (tx) => {
      const [target] = await this.states.lockTargets(tx.manager, locationId, { messageId });
      if (!target) throw new AppError('not_found', 'message_not_found', 'No such message in this location');
      if (!target.mailboxKey) {
        throw new AppError(
          'conflict',
          'message_not_in_mailbox',
          'This message is in no connected mailbox (not synced, not sent through one): there is no mailbox state to change',
        );
      }
      await this.apply(tx, locationId, [target], read);
    });
  }

  async conversation(locationId: string, conversationId: string, read: boolean): Promise<number> {
    if (!(await this.conversations.find(locationId, conversationId))) {
      throw new AppError('not_found', 'conversation_not_found', 'No such conversation in this location');
    }
    return this.uow.run(async (tx) => {
      const targets = (await this.states.lockTargets(tx.manager, locationId, { conversationId })).filter(
        (t) => t.mailboxKey,
      );
      await this.apply(tx, locationId, targets, read);
      return targets.length;
    });
  }

  private async apply(
    tx: TransactionContext,
    locationId: string,
    targets: readonly StateTarget[],
    read: boolean,
  ): Promise<void> {
    const at = new Date();
    const byMailbox = new Map<string, StateTarget[]>();
    for (const t of targets) {
      const next = applyStateChange(t.mailboxState ?? {}, {
        flag: 'read',
        value: read,
        at: at.getTime(),
        origin: 'crm',
      });
      await this.states.saveState(tx.manager, locationId, t.messageId, next);
      if (t.mailboxState?.deleted?.value === true || !t.mailboxKey || !t.providerMessageId) continue;
      byMailbox.set(t.mailboxKey, [...(byMailbox.get(t.mailboxKey) ?? []), t]);
    }
    for (const [mailboxKey, list] of byMailbox) {
      for (let i = 0; i < list.length; i += REQUEST_MAX) {
        const chunk = list.slice(i, i + REQUEST_MAX);
        tx.emit(messageStateChangeRequestedV1, {
          requestId: randomUUID(),
          locationId,
          connectionId: chunk[0].connectionId,
          mailboxKey,
          messages: chunk.map((t) => ({
            messageId: t.messageId,
            providerMessageId: t.providerMessageId ?? '',
          })),
          read,
          requestedAt: at.toISOString(),
        });
      }
    }
  }
}
