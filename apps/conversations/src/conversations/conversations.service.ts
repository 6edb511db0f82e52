import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../common/cursor';
import type { ConversationEntity } from './conversation.entity';
import { ConversationsRepository } from './conversations.repository';

const conversationCursor = z.tuple([z.iso.datetime({ offset: true }), z.uuid()]);

@Injectable()
export class ConversationsService {
  constructor(private readonly conversations: ConversationsRepository) {}

  /** Newest activity first, keyset-paginated. */
  async page(q: {
    locationId: string;
    contactId?: string;
    cursor?: string;
    limit: number;
  }): Promise<{ items: ConversationEntity[]; nextCursor: string | null }> {
    const after = q.cursor ? decodeCursor(q.cursor, conversationCursor) : undefined;
    const rows = await this.conversations.page({
      locationId: q.locationId,
      contactId: q.contactId,
      after: after ? { lastMessageAt: after[0], conversationId: after[1] } : undefined,
      limit: q.limit + 1,
    });
    const items = rows.slice(0, q.limit);
    const last = rows.length > q.limit ? items[items.length - 1] : undefined;
    return {
      items,
      nextCursor: last ? encodeCursor([last.lastMessageAt.toISOString(), last.conversationId]) : null,
    };
  }
}
