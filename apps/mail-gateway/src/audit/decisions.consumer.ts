import { Inject, Injectable } from '@nestjs/common';
import { EventEnvelope, Topics, eventCatalog, messageDecidedV1 } from '@mailbridge/contracts';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { OnEvent, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { MessageLedgerRepository } from './message-ledger.repository';

const GROUP = 'ledger';

/** SYN-10: sync-engine's outcome of each observed message → the ledger the completeness audit reads. */
@Injectable()
export class DecisionsConsumer {
  constructor(
    private readonly ledger: MessageLedgerRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  @OnEvent({ topic: Topics.syncDecisions, group: GROUP })
  async onDecided(event: EventEnvelope): Promise<void> {
    if (!eventCatalog.is(event, messageDecidedV1)) return;
    const p = event.payload;
    await this.uow.handleOnce(GROUP, event, (tx) =>
      this.ledger.recordDecision(tx.manager, {
        mailboxKey: p.mailboxKey,
        providerMessageId: p.providerMessageId,
        outcome: p.outcome,
        rule: p.rule,
        reason: p.reason,
        conversations: p.conversations,
      }),
    );
  }
}
