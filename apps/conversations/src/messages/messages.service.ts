import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '@mailbridge/platform-runtime';
import type { ObjectStore } from '@mailbridge/platform-object-store';
import { decodeCursor, encodeCursor, messageCursor } from '../common/cursor';
import { OBJECT_STORE } from '../common/tokens';
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
  ) {}

  /** SYN-6: date (whole seconds), then when received, then arrival. The keyset cursor is stable under inserts. */
  async page(q: {
    locationId: string;
    conversationId: string;
    cursor?: string;
    limit: number;
  }): Promise<{ items: MessageView[]; nextCursor: string | null }> {
    const after = q.cursor ? decodeCursor(q.cursor, messageCursor) : undefined;
    if (!(await this.conversations.find(q.locationId, q.conversationId))) {
      throw new AppError('not_found', 'conversation_not_found', 'No such conversation in this location');
    }
    const rows = await this.messages.page(
      q.locationId,
      q.conversationId,
      after ? { second: after[0], receivedAt: after[1], seq: after[2] } : undefined,
      q.limit + 1,
    );
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
