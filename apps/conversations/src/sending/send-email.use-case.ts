import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { conversationIdFor, emailRequestedV1, type PayloadOf } from '@mailbridge/contracts';
import {
  SENDING_CAP_WINDOW_HOURS,
  chooseSendRoute,
  countsTowardSendingCap,
  decideSendAs,
  decideSendingCap,
  sameAddress,
  sendingCapFor,
} from '@mailbridge/domain-mail';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { AppError, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { canonicalJson, sha256Hex } from '../common/canonical-json';
import { CONVERSATIONS_CONFIG, OBJECT_STORE } from '../common/tokens';
import type { ConnectionEntity } from '../connections/connection.entity';
import { ConnectionsRepository } from '../connections/connections.repository';
import { ContactsService } from '../contacts/contacts.service';
import { ConversationsConfig, attachmentLimitsOf, sendingCapsOf } from '../conversations.config';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { attachmentRowsOf, crmSendRow } from '../messages/message-row.factory';
import { MessagesRepository } from '../messages/messages.repository';
import type { SendEmailAcceptedDto, SendEmailDto } from './dto/send-email.dto';
import { IdempotencyRepository } from './idempotency.repository';
import { UploadsRepository } from './uploads.repository';
import { SendAsClient } from './send-as.client';
import { prepareAttachments, storeAttachments } from './send-email.attachments';
import {
  address,
  checkAttachmentRules,
  checkIndividualSender,
  recipientsOf,
  replay,
  requireIdempotencyKey,
} from './send-email.checks';

export interface SendEmailCommand {
  readonly locationId: string;
  /** The user the request's token is for. */
  readonly actingUserId: string;
  readonly contactId: string;
  readonly idempotencyKey: string | undefined;
  readonly request: SendEmailDto;
}

export interface SendEmailResult {
  readonly accepted: SendEmailAcceptedDto;
  /** True when this answers a retry of an earlier request with the same key (SND-6). */
  readonly replayed: boolean;
}

/**
 * Sending an email to a contact from the CRM (SND): validated and refused up front when a rule says no (ATT-1,
 * ATT-2, SND-4: 422 and nothing stored or published), then stored as a pending message and requested
 * (`email.requested`) in one transaction. Idempotent per key (SND-6): the same request again gets the same answer and
 * no second email; the same key with another request is a conflict.
 */
@Injectable()
export class SendEmailUseCase {
  constructor(
    private readonly contacts: ContactsService,
    private readonly connections: ConnectionsRepository,
    private readonly conversations: ConversationsRepository,
    private readonly messages: MessagesRepository,
    private readonly uploads: UploadsRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly sendAs: SendAsClient,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONVERSATIONS_CONFIG) private readonly config: ConversationsConfig,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  async execute(cmd: SendEmailCommand): Promise<SendEmailResult> {
    const key = requireIdempotencyKey(cmd.idempotencyKey);
    const { request: body, locationId } = cmd;
    const requestHash = sha256Hex(canonicalJson({ contactId: cmd.contactId, request: body }));
    const earlier = await this.idempotency.find(locationId, key);
    if (earlier) return replay(earlier, requestHash);

    const contact = await this.contacts.get(locationId, cmd.contactId);
    checkIndividualSender(body, cmd.actingUserId);
    const { to, cc, bcc } = recipientsOf(body, contact, this.config.MAX_RECIPIENTS);

    const connection = await this.connections.findActive(locationId, body.userId);
    // SND-1..3 as sync-engine will route it (the same function): which limits and cap apply here.
    const route = chooseSendRoute(
      body.kind,
      body.from?.address,
      connection ? { provider: connection.provider, address: connection.emailAddress } : null,
    );
    const viaMailbox = route.via === 'mailbox' ? connection : null;
    await this.checkFrom(body, viaMailbox);
    const attachments = await prepareAttachments(this.uploads, locationId, body);
    checkAttachmentRules(attachments, viaMailbox, attachmentLimitsOf(this.config));
    const countsAgainstCap = countsTowardSendingCap(body.kind, route.via);
    await this.checkSendingCap(body.kind, viaMailbox);

    const conversationId = conversationIdFor(locationId, contact.contactId);
    const replyTo = body.replyToMessageId
      ? await this.replyContext(locationId, conversationId, body.replyToMessageId)
      : null;

    // Bytes go to the object store before the transaction (no I/O while holding it); content addressing makes a
    // retried or abandoned put harmless.
    const messageId = randomUUID();
    const refs = await storeAttachments(this.store, attachments);
    const now = new Date();
    const accepted: SendEmailAcceptedDto = { messageId, conversationId, status: 'pending' };
    const from = body.from ? address(body.from) : undefined;

    return this.uow.run(async (tx) => {
      const claimed = await this.idempotency.claim(tx.manager, {
        locationId,
        idempotencyKey: key,
        requestHash,
        messageId,
        response: accepted,
        createdAt: now,
      });
      if (!claimed) {
        const winner = await this.idempotency.findIn(tx.manager, locationId, key);
        if (!winner) throw new Error('idempotency key vanished while claimed');
        return replay(winner, requestHash);
      }
      await this.conversations.recordMessage(tx.manager, {
        locationId,
        conversationId,
        contactId: contact.contactId,
        at: now,
        subject: body.subject,
      });
      await this.messages.insert(
        tx.manager,
        crmSendRow({
          locationId,
          messageId,
          conversationId,
          contactId: contact.contactId,
          userId: body.userId,
          connectionId: connection?.connectionId ?? null,
          // Counted against the mailbox's cap from now on (SND-4), unless the route turns out otherwise.
          mailboxKey: countsAgainstCap && viaMailbox ? viaMailbox.mailboxKey : null,
          kind: body.kind,
          from: from ?? (viaMailbox ? { address: viaMailbox.emailAddress } : null),
          to,
          cc,
          bcc,
          subject: body.subject,
          text: body.text ?? null,
          html: body.html ?? null,
          at: now,
          inReplyTo: replyTo?.rfcMessageId ?? null,
          idempotencyKey: key,
        }),
        attachmentRowsOf(locationId, messageId, refs),
      );
      tx.emit(emailRequestedV1, {
        messageId,
        idempotencyKey: key,
        locationId,
        userId: body.userId,
        contactId: contact.contactId,
        conversationId,
        kind: body.kind,
        ...(from ? { from } : {}),
        to,
        cc,
        bcc,
        subject: body.subject,
        text: body.text ?? null,
        html: body.html ?? null,
        attachments: refs,
        replyTo,
        requestedAt: now.toISOString(),
      });
      return { accepted, replayed: false };
    });
  }

  /**
   * SND-7, before anything is stored: an individual send through the mailbox may use as From any verified send-as
   * address of it (`decideSendAs`, the function mail-gateway applies again before the provider call).
   */
  private async checkFrom(body: SendEmailDto, connection: ConnectionEntity | null): Promise<void> {
    const from = body.from?.address?.trim();
    if (body.kind !== 'individual' || !connection || !from || sameAddress(from, connection.emailAddress))
      return;
    const verdict = decideSendAs(from, await this.sendAs.profile(connection.connectionId));
    if (verdict.outcome === 'refuse') {
      throw new AppError('rule_refusal', verdict.code, verdict.message, { from, allowed: verdict.allowed });
    }
  }

  /**
   * SND-4, before anything is stored: the same decision mail-gateway makes before the provider
   * (`decideSendingCap`), over this service's own record of the mailbox's sends, so the CRM's answer is what
   * mail-gateway does. This makes the refusal immediate; mail-gateway's check stays the last line.
   */
  private async checkSendingCap(
    kind: SendEmailDto['kind'],
    connection: ConnectionEntity | null,
  ): Promise<void> {
    const send = {
      kind,
      mailbox: connection ? { provider: connection.provider, address: connection.emailAddress } : null,
    };
    const caps = sendingCapsOf(this.config);
    const cap = sendingCapFor(send, caps);
    const now = new Date();
    const usage =
      cap === null || !connection
        ? null
        : await this.messages.mailboxSends(
            connection.mailboxKey,
            new Date(now.getTime() - SENDING_CAP_WINDOW_HOURS * 3_600_000),
            cap,
          );
    const verdict = decideSendingCap(send, caps, usage, now);
    if (verdict.outcome === 'allow') return;
    throw new AppError('rule_refusal', verdict.code, verdict.message, { ...verdict.details });
  }

  private async replyContext(
    locationId: string,
    conversationId: string,
    messageId: string,
  ): Promise<PayloadOf<typeof emailRequestedV1>['replyTo']> {
    const original = await this.messages.findInConversation(locationId, conversationId, messageId);
    if (!original) {
      throw new AppError(
        'not_found',
        'reply_to_message_not_found',
        "replyToMessageId is not a message of this contact's conversation",
      );
    }
    return {
      messageId: original.messageId,
      rfcMessageId: original.rfcMessageId,
      references: original.references.slice(-200),
      provider:
        original.provider === 'google' || original.provider === 'microsoft' ? original.provider : null,
      providerThreadId: original.providerThreadId,
      subject: original.subject,
    };
  }
}
