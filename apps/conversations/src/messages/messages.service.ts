import type { Readable } from 'node:stream';
import { z } from 'zod';
import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '@mailbridge/platform-runtime';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import { decodeCursor, encodeCursor, messageCursor, timestampCursor } from '../common/cursor';
import { CONVERSATIONS_CONFIG, OBJECT_STORE } from '../common/tokens';
import type { ConversationsConfig } from '../conversations.config';
import { ConversationsRepository } from '../conversations/conversations.repository';
import type { AttachmentEntity } from './attachment.entity';
import { contentDisposition, servedContentType } from './attachment-content-type';
import type { MessageEntity } from './message.entity';
import { MessagesRepository } from './messages.repository';

export interface MessageView {
  readonly message: MessageEntity;
  readonly attachments: AttachmentEntity[];
}

export interface AttachmentDownload {
  readonly stream: Readable;
  readonly contentType: string;
  readonly disposition: string;
  readonly size: number;
}

/** The read side of messages: a conversation's messages in send order, one message, an attachment's bytes. */
@Injectable()
export class MessagesService {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly conversations: ConversationsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONVERSATIONS_CONFIG) private readonly config: ConversationsConfig,
  ) {}

  /** SYN-7 location policy: hide messages deleted from the mailbox (else they stay, flagged). */
  private hidesDeleted(locationId: string): boolean {
    const hide = this.config.MAILBOX_DELETED_HIDE_LOCATIONS;
    return hide.includes('*') || hide.includes(locationId);
  }

  /** SYN-6: date (whole seconds), then when received, then arrival. The keyset cursor is stable under inserts. */
  async page(q: {
    locationId: string;
    conversationId: string;
    cursor?: string;
    limit: number;
  }): Promise<{ items: MessageView[]; nextCursor: string | null }> {
    const cursor = q.cursor ? decodeCursor(q.cursor, z.union([messageCursor, timestampCursor])) : undefined;
    if (!(await this.conversations.find(q.locationId, q.conversationId))) {
      throw new AppError('not_found', 'conversation_not_found', 'No such conversation in this location');
    }
    const after =
      cursor?.length === 2
        ? await this.positionOfLegacyCursor(q.locationId, q.conversationId, cursor[1])
        : cursor && { second: cursor[0], receivedAt: cursor[1], seq: cursor[2] };
    const rows = await this.messages.page(q.locationId, q.conversationId, after, q.limit + 1, {
      hideMailboxDeleted: this.hidesDeleted(q.locationId),
    });
    const page = rows.slice(0, q.limit);
    const attachments = await this.messages.attachmentsOf(
      q.locationId,
      page.map((m) => m.messageId),
    );
    const last = rows.length > q.limit ? page[page.length - 1] : undefined;
    return {
      items: page.map((message) => ({
        message,
        attachments: attachments.filter((a) => a.messageId === message.messageId),
      })),
      nextCursor: last
        ? encodeCursor([last.sortSecond.toISOString(), last.sortReceivedAt.toISOString(), last.seq])
        : null,
    };
  }

  /**
   * The previous release's cursors were `[sortAt, seq]`. Its last row (seq) is where the page ended, so a client
   * paginating across an upgrade continues from that row's place in today's order.
   */
  private async positionOfLegacyCursor(
    locationId: string,
    conversationId: string,
    seq: string,
  ): Promise<{ second: string; receivedAt: string; seq: string }> {
    const row = await this.messages.sortKeyOfSeq(locationId, conversationId, seq);
    if (!row) throw new AppError('validation', 'invalid_cursor', 'cursor is not one this API returned');
    return { second: row.second.toISOString(), receivedAt: row.receivedAt.toISOString(), seq };
  }

  async get(locationId: string, messageId: string): Promise<MessageView> {
    const message = await this.messages.find(locationId, messageId);
    if (!message) throw new AppError('not_found', 'message_not_found', 'No such message in this location');
    return { message, attachments: await this.messages.attachmentsOf(locationId, [messageId]) };
  }

  async download(locationId: string, attachmentId: string): Promise<AttachmentDownload> {
    const attachment = await this.messages.findAttachment(locationId, attachmentId);
    if (!attachment) {
      throw new AppError('not_found', 'attachment_not_found', 'No such attachment in this location');
    }
    if (!attachment.objectKey) {
      throw new AppError('not_found', 'attachment_omitted', 'The bytes of this attachment were not synced', {
        omittedReason: attachment.omittedReason,
      });
    }
    return {
      stream: await this.store.get(attachment.objectKey),
      contentType: servedContentType(attachment.detectedKind, attachment.contentType),
      disposition: contentDisposition(attachment.filename),
      size: attachment.size,
    };
  }
}
