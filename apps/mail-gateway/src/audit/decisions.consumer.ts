import { Injectable } from '@nestjs/common';
import { messageDecidedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent } from '@mailbridge/platform-runtime';
import { MessageLedgerRepository } from '../ledger/message-ledger.repository';

/** SYN-10: sync-engine's outcome of each observed message → the ledger the completeness audit reads. */
@Injectable()
export class DecisionsConsumer {
  constructor(private readonly ledger: MessageLedgerRepository) {}

  @OnEvent(messageDecidedV1, { group: 'ledger' })
  async onDecided(event: EventOf<typeof messageDecidedV1>, tx: TransactionContext): Promise<void> {
    const p = event.payload;
    await this.ledger.recordDecision(tx.manager, {
      mailboxKey: p.mailboxKey,
      providerMessageId: p.providerMessageId,
      outcome: p.outcome,
      rule: p.rule,
      reason: p.reason,
      conversations: p.conversations,
    });
  }
}
