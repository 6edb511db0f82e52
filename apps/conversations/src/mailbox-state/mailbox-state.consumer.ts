import { Injectable } from '@nestjs/common';
import { messageStateChangedV1, messageStateChangeFailedV1 } from '@mailbridge/contracts';
import { applyStateChange, type StateChange } from '@mailbridge/domain-mail';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { MailboxStateRepository } from './mailbox-state.repository';

/**
 * SYN-7, mailbox → CRM: each changed flag of `message.state-changed` is merged into every CRM copy of the message
 * (last writer wins by change time: an older or repeated event changes nothing). A deletion only flags the message;
 * nothing is ever erased. A CRM change the mailbox could not take becomes a sync event.
 */
@Injectable()
export class MailboxStateConsumer {
  constructor(private readonly states: MailboxStateRepository) {}

  @OnEvent(messageStateChangedV1, { group: 'mailbox-state' })
  async onStateChanged(event: EventOf<typeof messageStateChangedV1>, tx: TransactionContext): Promise<void> {
    const p = event.payload;
    const at = Date.parse(p.changedAt);
    const changes: StateChange[] = p.changed.map((flag) => ({
      flag,
      value: p.state[flag],
      at,
      origin: 'mailbox',
    }));
    const copies = await this.states.lockMailboxCopies(
      tx.manager,
      p.provider,
      p.providerMessageId,
      p.connections,
    );
    for (const copy of copies) {
      const next = changes.reduce(applyStateChange, copy.mailboxState ?? {});
      if (next !== copy.mailboxState)
        await this.states.saveState(tx.manager, copy.locationId, copy.messageId, next);
    }
  }

  @OnEvent(messageStateChangeFailedV1, { group: 'state-change-failures' })
  async onStateChangeFailed(
    event: EventOf<typeof messageStateChangeFailedV1>,
    tx: TransactionContext,
  ): Promise<void> {
    const p = event.payload;
    await this.states.recordFailure(tx.manager, {
      locationId: p.locationId,
      sourceEventId: event.id,
      connectionId: p.connectionId,
      mailboxKey: p.mailboxKey,
      messageId: p.messageId,
      providerMessageId: p.providerMessageId,
      reason: p.reason,
      detail: `Marking the message ${p.read ? 'read' : 'unread'} in the mailbox failed: ${p.detail}`.slice(
        0,
        2000,
      ),
      occurredAt: new Date(p.failedAt),
    });
  }
}
