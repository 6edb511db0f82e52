import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { messageObservedV1, smartBccRefusedV1 } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { TransactionContext, UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GatewayMetrics } from '../common/gateway.metrics';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import {
  MessageNormalizer,
  headerFromHead,
  type NormalizedMessage,
} from '../sync/message-normalizer.service';
import { ObservedMessagePublisher } from '../sync/observed-message.publisher';
import { ObservedMessagesRepository } from '../sync/observed-messages.repository';
import { checkSmartBccSender } from './sender-check';
import type { SmartBccOwner } from './smart-bcc-directory';

/** One message received over SMTP for one or more smart-BCC addresses. */
export interface ReceivedSmartBccMail {
  readonly raw: Buffer;
  /** MAIL FROM (empty for a null sender). */
  readonly envelopeFrom: string | null;
  /** The accepted recipients, each a smart-BCC address. */
  readonly recipients: readonly SmartBccOwner[];
  readonly receivedAt: Date;
}

export type SmartBccOutcome = 'observed' | 'sender_mismatch' | 'duplicate';

/** The pseudo-mailbox of one smart-BCC address (its observed messages and its event key). */
export function smartBccMailboxOf(address: string): { id: string; mailboxKey: string } {
  const mailboxKey = `smart_bcc:${address.toLowerCase()}`;
  const h = createHash('sha256').update(mailboxKey).digest();
  // A name-based UUID (version 5 layout, RFC 9562 variant): stable per address, so redeliveries dedupe.
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return {
    id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    mailboxKey,
  };
}

/** The message's identity at the receiver: its Message-ID, else its bytes. */
export function smartBccMessageIdOf(raw: Buffer): string {
  const id = headerFromHead(raw.subarray(0, 256 * 1024), 'Message-ID')?.trim();
  if (id) return `smtp:${id}`.slice(0, 1024);
  return `smtp:sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/**
 * BCC-1 at the boundary: a message received at smart-BCC addresses is stored and observed like mailbox mail (same
 * canonical event, `source: 'smart_bcc'`, `smartBcc` = the address's location and user, `mailboxAddress` = the
 * smart-BCC address), once per Message-ID per address; a message the user did not send (forged From or MAIL FROM) is
 * held as `smart-bcc.refused` `sender_mismatch` (rule BCC-1) instead, and never observed.
 */
@Injectable()
export class ReceiveSmartBccMailUseCase {
  constructor(
    private readonly normalizer: MessageNormalizer,
    private readonly publisher: ObservedMessagePublisher,
    private readonly observed: ObservedMessagesRepository,
    private readonly metrics: GatewayMetrics,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(mail: ReceivedSmartBccMail): Promise<SmartBccOutcome[]> {
    const providerMessageId = smartBccMessageIdOf(mail.raw);
    const recipients = [...new Map(mail.recipients.map((r) => [r.address, r])).values()];
    const pending: SmartBccOwner[] = [];
    for (const owner of recipients) {
      const mailbox = smartBccMailboxOf(owner.address);
      const unseen = await this.publisher.unseen(mailbox.id, [providerMessageId]);
      if (unseen.length > 0) pending.push(owner);
    }
    const outcomes: SmartBccOutcome[] = recipients
      .filter((r) => !pending.includes(r))
      .map(() => 'duplicate' as const);
    if (pending.length === 0) return outcomes;

    const normalized = await this.normalizer.normalize(
      {
        // Smart-BCC mail has no provider of its own: it is labelled with the user's connected one (whose attachment
        // limits then apply); without a connection, Gmail's (see docs/mail-gateway.md).
        provider: pending.find((o) => o.provider)?.provider ?? 'google',
        providerMessageId,
        providerThreadId: null,
        receivedAt: mail.receivedAt,
        labels: [],
        inSent: false,
        raw: mail.raw,
        // Received over SMTP: no provider holds the original, so its raw MIME is kept whatever STORE_RAW_MESSAGES says.
        keepRaw: true,
      },
      mail.envelopeFrom ?? '',
    );
    // Whoever it reaches, a smart-BCC copy is mail the user sent.
    const message: NormalizedMessage = { ...normalized, direction: 'outbound' };

    for (const owner of pending) {
      outcomes.push(await this.deliver(owner, message, mail.envelopeFrom));
    }
    return outcomes;
  }

  private async deliver(
    owner: SmartBccOwner,
    m: NormalizedMessage,
    envelopeFrom: string | null,
  ): Promise<SmartBccOutcome> {
    const mailbox = smartBccMailboxOf(owner.address);
    const verdict = checkSmartBccSender({
      owner,
      envelopeFrom,
      headerFrom: m.message.from?.address ?? null,
      allowedSenders: this.config.SMART_BCC_ALLOWED_SENDERS ?? [],
    });
    return this.uow.run(async (tx): Promise<SmartBccOutcome> => {
      if (!(await this.claim(tx, mailbox.id, m.message.providerMessageId))) return 'duplicate';
      const now = new Date().toISOString();
      if (!verdict.ok) {
        tx.emit(smartBccRefusedV1, {
          locationId: owner.locationId,
          userId: owner.userId,
          connectionId: owner.connectionId,
          mailboxKey: mailbox.mailboxKey,
          providerMessageId: m.message.providerMessageId,
          rfcMessageId: m.message.rfcMessageId,
          subject: m.message.subject,
          from: m.message.from,
          reason: 'sender_mismatch',
          rule: 'BCC-1',
          detail: verdict.detail.slice(0, 2000),
          occurredAt: now,
        });
        this.logger.warn(
          { locationId: owner.locationId, userId: owner.userId, rule: 'BCC-1' },
          'smart-BCC mail held: sender_mismatch',
        );
        return 'sender_mismatch';
      }
      tx.emit(messageObservedV1, {
        mailboxId: mailbox.id,
        mailboxKey: mailbox.mailboxKey,
        mailboxAddress: owner.address,
        source: 'smart_bcc',
        direction: m.direction,
        inSent: m.inSent,
        labels: m.labels,
        smartBcc: { locationId: owner.locationId, userId: owner.userId },
        message: m.message,
        observedAt: now,
      });
      tx.afterCommit(() =>
        this.metrics.messagesObserved.inc({ provider: 'smart_bcc', direction: m.direction }),
      );
      return 'observed';
    });
  }

  /** Records the message as handled for this address; false when it already was (a redelivery). */
  private async claim(
    tx: TransactionContext,
    mailboxId: string,
    providerMessageId: string,
  ): Promise<boolean> {
    return (await this.observed.claim(tx.manager, mailboxId, [providerMessageId])).size === 1;
  }
}
