import { Inject, Injectable } from '@nestjs/common';
import type { PayloadOf, sendFailedV1, sendSucceededV1 } from '@mailbridge/contracts';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import type { BindingKeyValue } from '../decisions/decision.types';
import { messageKey, threadKey } from '../decisions/thread-keys';
import { ObserveMessageUseCase } from '../inbound/observe-message.use-case';
import { ThreadBindingRepository } from '../threads/thread-binding.repository';
import { CrmSendRepository } from './crm-send.repository';

/**
 * mail-gateway's send results. A success teaches the thread binding the provider ids (SYN-1) and, for a reply, keeps
 * the thread in the location the user replied from only (SYN-4 retain-on-reply; routing moved it already, this covers
 * keys only the result tells). A failure gives back the bindings the reply ended when it was routed.
 */
@Injectable()
export class RecordSendResultUseCase {
  constructor(
    private readonly sends: CrmSendRepository,
    private readonly bindings: ThreadBindingRepository,
    private readonly observe: ObserveMessageUseCase,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async succeeded(tx: TransactionContext, result: PayloadOf<typeof sendSucceededV1>): Promise<void> {
    const db = tx.manager;
    const send = await this.sends.find(db, result.sendId);
    if (!send) {
      this.logger.warn(
        { sendId: result.sendId },
        'send result for a send sync-engine did not route: ignored',
      );
      return;
    }
    const moved = await this.sends.markResult(db, result.sendId, {
      status: 'succeeded',
      providerMessageId: result.providerMessageId,
      providerThreadId: result.providerThreadId,
      detail: `sent at ${result.sentAt}`,
    });
    if (!moved || !send.mailboxKey || !send.bindingId) return;

    const mailboxKey = send.mailboxKey;
    await this.bindings.lockMailboxes(db, [mailboxKey]);
    const keys: BindingKeyValue[] = [
      ...(result.providerThreadId
        ? [{ key: threadKey(result.providerThreadId), providerMessageId: null }]
        : []),
      { key: messageKey(result.rfcMessageId), providerMessageId: result.providerMessageId },
    ];
    await this.bindings.save(db, [], [{ bindingId: send.bindingId, mailboxKey, keys }]);
    const ended = await this.bindings.endElsewhere(
      db,
      mailboxKey,
      [...new Set([...keys.map((k) => k.key), ...send.replyKeys])],
      send.locationId,
    );
    if (ended.length > 0) {
      this.logger.info(
        { sendId: send.sendId, locationId: send.locationId, endedBindings: ended, rule: 'SYN-4' },
        'the user replied from this location: the thread is unbound elsewhere',
      );
    }
    await this.observe.replayParked(
      tx,
      keys.map((k) => ({ mailboxKey, key: k.key })),
    );
  }

  async failed(tx: TransactionContext, result: PayloadOf<typeof sendFailedV1>): Promise<void> {
    const db = tx.manager;
    // Only a send that was `requested` moves (a refusal never reaches mail-gateway: it is send.refused, not this).
    const moved = await this.sends.markResult(db, result.sendId, {
      status: 'failed',
      detail: `failed: ${result.code}`,
    });
    if (!moved) return;
    this.logger.info({ sendId: result.sendId, code: result.code }, 'send failed at the gateway');
    const send = await this.sends.find(db, result.sendId);
    if (!send?.mailboxKey || !send.bindingId || send.endedBindingIds.length === 0) return;
    // SYN-4: the answer did not go out, so the thread is bound where it was before it was routed.
    await this.bindings.lockMailboxes(db, [send.mailboxKey]);
    const restored = await this.bindings.restoreEnded(db, send.endedBindingIds, send.sendId, send.bindingId);
    if (restored.length > 0) {
      this.logger.info(
        { sendId: send.sendId, locationId: send.locationId, restoredBindings: restored, rule: 'SYN-4' },
        'the reply failed: the thread is bound again where it was',
      );
    }
  }
}
