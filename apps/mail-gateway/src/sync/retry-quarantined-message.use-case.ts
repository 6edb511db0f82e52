import { Inject, Injectable } from '@nestjs/common';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { AppError, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxAccess } from '../provider-access/mailbox-access';
import { GmailPullService } from './gmail-pull.service';
import { GraphPullService } from './graph-pull.service';
import { MessageFailuresRepository, type MessageFailure } from './message-failures.repository';
import { MessageIsolation, errorClassOf, isMessageSpecific } from './message-isolation.service';
import type { NormalizedMessage } from './message-normalizer.service';

export type RetryOutcome = 'observed' | 'already_observed' | 'gone' | 'failed';

/**
 * An operator retries a quarantined message: fetched, normalised and recorded as a pull would (once: the observed
 * ids deduplicate). Success resolves the quarantine; a new failure counts one more attempt and keeps it.
 */
@Injectable()
export class RetryQuarantinedMessageUseCase {
  constructor(
    private readonly failures: MessageFailuresRepository,
    private readonly mailboxes: MailboxesRepository,
    private readonly access: MailboxAccess,
    private readonly gmailPull: GmailPullService,
    private readonly graphPull: GraphPullService,
    private readonly isolation: MessageIsolation,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  async execute(id: string): Promise<{ outcome: RetryOutcome; quarantine: MessageFailure }> {
    const failure = await this.failures.findById(id);
    if (!failure?.quarantinedAt)
      throw new AppError('not_found', 'quarantine_not_found', 'No quarantined message with this id');
    if (failure.resolvedAt) return { outcome: 'already_observed', quarantine: failure };
    const mailbox = await this.mailboxes.findById(failure.mailboxId);
    if (!mailbox || mailbox.desired === 'stopped')
      throw new AppError(
        'conflict',
        'mailbox_not_active',
        'The mailbox of this message is no longer watched',
      );
    const target = this.access.forMailbox(mailbox);
    const item = { id: failure.providerMessageId, context: failure.context ?? undefined };
    let message: NormalizedMessage | undefined;
    let emitted = 0;
    try {
      message =
        mailbox.provider === 'google'
          ? await this.gmailPull.fetchOne(mailbox, target, item.id)
          : await this.graphPull.fetchOne(mailbox, target, item);
      emitted = await this.uow.run(async (tx) => {
        if (!message) {
          await this.failures.resolve(tx.manager, mailbox.id, [item.id]);
          return 0;
        }
        return this.isolation.record(tx, mailbox, [message]);
      });
    } catch (error) {
      if (!isMessageSpecific(error))
        throw new AppError(
          'unavailable',
          'provider_unavailable',
          `The provider did not answer: ${errorClassOf(error)}`,
        );
      await this.isolation.fail(mailbox, item, error);
      const after = (await this.failures.findById(id)) ?? failure;
      return { outcome: 'failed', quarantine: { ...after, errorClass: errorClassOf(error) } };
    }
    const after = (await this.failures.findById(id)) ?? failure;
    const outcome: RetryOutcome = !message ? 'gone' : emitted > 0 ? 'observed' : 'already_observed';
    return { outcome, quarantine: after };
  }
}
