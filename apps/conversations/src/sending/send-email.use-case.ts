import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  conversationIdFor,
  emailRequestedV1,
  type AttachmentRef,
  type MailboxAddress,
  type PayloadOf,
} from '@mailbridge/contracts';
import {
  DETECTION_PREFIX_BYTES,
  SENDING_CAP_WINDOW_HOURS,
  checkAttachments,
  chooseSendRoute,
  countsTowardSendingCap,
  decideSendAs,
  decideSendingCap,
  sameAddress,
  detectAttachmentType,
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
import type { NewAttachment } from '../messages/messages.repository';
import { MessagesRepository } from '../messages/messages.repository';
import type { SendEmailAcceptedDto, SendEmailDto } from './dto/send-email.dto';
import type { IdempotencyKeyEntity } from './idempotency-key.entity';
import { IdempotencyRepository } from './idempotency.repository';
import type { UploadEntity } from './upload.entity';
import { UploadsRepository } from './uploads.repository';
import { SendAsClient } from './send-as.client';

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

/** An attachment of the request, checked but not yet stored. */
interface PreparedAttachment {
  readonly filename: string;
  readonly size: number;
  readonly detected: { supported: boolean; kind: string; mimeType: string };
  readonly bytes?: Buffer;
  readonly upload?: UploadEntity;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

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
    const key = this.requireKey(cmd.idempotencyKey);
    const { request: body, locationId } = cmd;
    const requestHash = sha256Hex(canonicalJson({ contactId: cmd.contactId, request: body }));
    const earlier = await this.idempotency.find(locationId, key);
    if (earlier) return replay(earlier, requestHash);

    const contact = await this.contacts.get(locationId, cmd.contactId);
    if (body.kind === 'individual' && body.userId !== cmd.actingUserId) {
      throw new AppError(
        'forbidden',
        'user_forbidden',
        'An individual email is sent by the signed-in user only',
      );
    }
    const to = body.to?.length
      ? body.to.map(address)
      : [address({ address: contact.email, name: contact.name ?? undefined })];
    const cc = (body.cc ?? []).map(address);
    const bcc = (body.bcc ?? []).map(address);
    const recipients = to.length + cc.length + bcc.length;
    if (recipients > this.config.MAX_RECIPIENTS) {
      throw new AppError(
        'validation',
        'too_many_recipients',
        `At most ${this.config.MAX_RECIPIENTS} recipients (To, Cc and Bcc together); got ${recipients}`,
        { max: this.config.MAX_RECIPIENTS, got: recipients },
      );
    }

    const connection = await this.connections.findActive(locationId, body.userId);
    // SND-1..3 as sync-engine will route it (the same function): which limits and cap apply here.
    const route = chooseSendRoute(
      body.kind,
      body.from?.address,
      connection ? { provider: connection.provider, address: connection.emailAddress } : null,
    );
    const viaMailbox = route.via === 'mailbox' ? connection : null;
    await this.checkFrom(body, viaMailbox);
    const attachments = await this.prepareAttachments(locationId, body);
    this.checkAttachmentRules(attachments, viaMailbox);
    const countsAgainstCap = countsTowardSendingCap(body.kind, route.via);
    await this.checkSendingCap(body.kind, viaMailbox);

    const conversationId = conversationIdFor(locationId, contact.contactId);
    const replyTo = body.replyToMessageId
      ? await this.replyContext(locationId, conversationId, body.replyToMessageId)
      : null;

    // Bytes go to the object store before the transaction (no I/O while holding it); content addressing makes a
    // retried or abandoned put harmless.
    const messageId = randomUUID();
    const refs = await this.storeAttachments(attachments);
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
      const attachmentRows: NewAttachment[] = refs.map((ref, position) => ({
        locationId,
        attachmentId: randomUUID(),
        messageId,
        position,
        filename: ref.filename,
        contentType: ref.contentType,
        detectedKind: ref.detectedKind ?? null,
        size: ref.size,
        objectKey: ref.objectKey ?? null,
        sha256: ref.sha256 ?? null,
        contentId: null,
        inline: false,
        omittedReason: null,
      }));
      await this.messages.insert(
        tx.manager,
        {
          locationId,
          messageId,
          conversationId,
          contactId: contact.contactId,
          userId: body.userId,
          connectionId: connection?.connectionId ?? null,
          // Counted against the mailbox's cap from now on (SND-4), unless the route turns out otherwise.
          mailboxKey: countsAgainstCap && viaMailbox ? viaMailbox.mailboxKey : null,
          kind: body.kind,
          direction: 'outbound',
          source: 'crm',
          status: 'pending',
          from: from ?? (viaMailbox ? { address: viaMailbox.emailAddress } : null),
          to,
          cc,
          bcc,
          subject: body.subject,
          text: body.text ?? null,
          html: body.html ?? null,
          bodyTruncated: false,
          sortAt: now,
          sentAt: null,
          receivedAt: null,
          provider: null,
          providerMessageId: null,
          providerThreadId: null,
          rfcMessageId: null,
          inReplyTo: replyTo?.rfcMessageId ?? null,
          references: [],
          deliveryId: null,
          rule: null,
          idempotencyKey: key,
          failureCode: null,
          failureMessage: null,
        },
        attachmentRows,
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

  private requireKey(key: string | undefined): string {
    if (key === undefined || key === '') {
      throw new AppError(
        'validation',
        'idempotency_key_required',
        'The Idempotency-Key header is required: retrying with the same key never sends twice',
      );
    }
    if (!IDEMPOTENCY_KEY.test(key)) {
      throw new AppError(
        'validation',
        'invalid_idempotency_key',
        'Idempotency-Key must be 1 to 255 visible ASCII characters',
      );
    }
    return key;
  }

  /** Inline bytes are decoded and typed by content; uploads were typed when they arrived. */
  private async prepareAttachments(locationId: string, body: SendEmailDto): Promise<PreparedAttachment[]> {
    const requested = body.attachments ?? [];
    const uploadIds = requested.flatMap((a) => (a.uploadId ? [a.uploadId] : []));
    const uploads = new Map((await this.uploads.findMany(locationId, uploadIds)).map((u) => [u.uploadId, u]));
    return requested.map((a, index) => {
      if (a.uploadId !== undefined) {
        if (a.contentBase64 !== undefined) {
          throw new AppError(
            'validation',
            'invalid_attachment',
            `attachments[${index}]: give uploadId or contentBase64, not both`,
          );
        }
        const upload = uploads.get(a.uploadId);
        if (!upload) {
          throw new AppError(
            'not_found',
            'upload_not_found',
            `attachments[${index}]: no such upload in this location`,
            {
              uploadId: a.uploadId,
            },
          );
        }
        return {
          filename: upload.filename,
          size: upload.size,
          detected: { supported: true, kind: upload.detectedKind, mimeType: upload.contentType },
          upload,
        };
      }
      const bytes = Buffer.from(a.contentBase64 ?? '', 'base64');
      const filename = a.filename ?? '';
      const detected = detectAttachmentType(bytes.subarray(0, DETECTION_PREFIX_BYTES), filename);
      return { filename, size: bytes.length, detected, bytes };
    });
  }

  /** ATT-1 and ATT-2, outbound: any oversized or unsupported attachment refuses the whole send. */
  private checkAttachmentRules(attachments: PreparedAttachment[], connection: ConnectionEntity | null): void {
    if (attachments.length === 0) return;
    // Not through a mailbox: the location's own sending service sends it, with its own limit.
    const verdict = checkAttachments(
      attachments,
      { provider: connection?.provider ?? 'location_provider', limits: attachmentLimitsOf(this.config) },
      'outbound',
    );
    if (verdict.outcome !== 'refuse' || !verdict.reason) return;
    throw new AppError('rule_refusal', verdict.reason, verdict.message ?? 'Email not sent', {
      limitBytes: verdict.limitBytes,
      provider: connection?.provider ?? null,
      attachments: verdict.attachments
        .filter((v) => v.status !== 'ok')
        .map((v) => ({ index: v.index, filename: v.filename, size: v.size, reasons: v.reasons })),
    });
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

  private async storeAttachments(attachments: PreparedAttachment[]): Promise<AttachmentRef[]> {
    const refs: AttachmentRef[] = [];
    for (const a of attachments) {
      const stored = a.upload
        ? { key: a.upload.objectKey, sha256: a.upload.sha256, size: a.upload.size }
        : await this.store.put(a.bytes ?? Buffer.alloc(0), { contentType: a.detected.mimeType });
      refs.push({
        objectKey: stored.key,
        filename: a.filename,
        // We are the sender: what we declare is what the bytes are.
        contentType: a.detected.mimeType,
        detectedKind: a.detected.kind,
        size: stored.size,
        sha256: stored.sha256,
      });
    }
    return refs;
  }
}

function replay(earlier: IdempotencyKeyEntity, requestHash: string): SendEmailResult {
  if (earlier.requestHash !== requestHash) {
    throw new AppError(
      'conflict',
      'idempotency_key_reused',
      'This Idempotency-Key was used for a different request; use a new key for a new email',
      { messageId: earlier.messageId },
    );
  }
  return { accepted: earlier.response, replayed: true };
}

function address(a: { address: string; name?: string | null }): MailboxAddress {
  const name = a.name?.trim();
  return name ? { name, address: a.address.trim() } : { address: a.address.trim() };
}
