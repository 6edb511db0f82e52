import { Injectable } from '@nestjs/common';
import { messageDecidedV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { EventOf, OnEvent, OnEventBatch } from '@mailbridge/platform-runtime';
import { type LedgerDecision, MessageLedgerRepository } from '../ledger/message-ledger.repository';

const decisionOf = ({ payload: p }: EventOf<typeof messageDecidedV1>): LedgerDecision => ({
  mailboxKey: p.mailboxKey,
  providerMessageId: p.providerMessageId,
  outcome: p.outcome,
  rule: p.rule,
  reason: p.reason,
  conversations: p.conversations,
});

/** SYN-10: sync-engine's outcome of each observed message → the ledger the completeness audit reads. */
@Injectable()
export class DecisionsConsumer {
  constructor(private readonly ledger: MessageLedgerRepository) {}

  /**
   * The batch path (issue 16): a batch's decisions in one statement. If it fails, the batch goes one event at a time
   * through `onDecided` below, so a poison event only fails itself.
   */
  @OnEventBatch(messageDecidedV1, { group: 'ledger' })
  async onDecisions(
    events: readonly EventOf<typeof messageDecidedV1>[],
    tx: TransactionContext,
  ): Promise<void> {
    await this.ledger.recordDecisions(tx.manager, events.map(decisionOf));
  }

  @OnEvent(messageDecidedV1, { group: 'ledger' })
  async onDecided(event: EventOf<typeof messageDecidedV1>, tx: TransactionContext): Promise<void> {
    await this.ledger.recordDecision(tx.manager, decisionOf(event));
  }
}
