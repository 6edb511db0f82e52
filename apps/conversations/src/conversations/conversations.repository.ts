import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { ConversationEntity } from './conversation.entity';

export interface ConversationPageQuery {
  readonly locationId: string;
  readonly contactId?: string;
  /** Keyset: the last row of the previous page. */
  readonly after?: { lastMessageAt: string; conversationId: string };
  readonly limit: number;
}

/** Every query is scoped by location. */
@Injectable()
export class ConversationsRepository {
  constructor(@InjectRepository(ConversationEntity) private readonly repo: Repository<ConversationEntity>) {}

  find(locationId: string, conversationId: string): Promise<ConversationEntity | null> {
    return this.repo.findOneBy({ locationId, conversationId });
  }

  /** Newest activity first; ties broken by id so the order is total and the keyset exact. */
  page(q: ConversationPageQuery): Promise<ConversationEntity[]> {
    const qb = this.repo
      .createQueryBuilder('c')
      .where('c.locationId = :locationId', { locationId: q.locationId })
      .orderBy('c.lastMessageAt', 'DESC')
      .addOrderBy('c.conversationId', 'DESC')
      .take(q.limit);
    if (q.contactId) qb.andWhere('c.contactId = :contactId', { contactId: q.contactId });
    if (q.after) {
      qb.andWhere('(c.lastMessageAt, c.conversationId) < (CAST(:at AS timestamptz), CAST(:id AS uuid))', {
        at: q.after.lastMessageAt,
        id: q.after.conversationId,
      });
    }
    return qb.getMany();
  }

  /**
   * Creates the conversation with its first message, or records one more message in it. `at` is the message's
   * sort date: the conversation's activity is its latest message, whatever order messages arrive in.
   */
  async recordMessage(
    tx: EntityManager,
    c: { locationId: string; conversationId: string; contactId: string; at: Date; subject: string },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO conversations.conversations AS c
         (location_id, conversation_id, contact_id, created_at, last_message_at, last_subject, message_count)
       VALUES ($1, $2, $3, now(), $4, $5, 1)
       ON CONFLICT (location_id, conversation_id) DO UPDATE SET
         message_count = c.message_count + 1,
         last_subject = CASE WHEN EXCLUDED.last_message_at >= c.last_message_at
                             THEN EXCLUDED.last_subject ELSE c.last_subject END,
         last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at)`,
      [c.locationId, c.conversationId, c.contactId, c.at, c.subject],
    );
  }

  /**
   * recordMessage for several messages in one statement (the batch path, issue 16): one row per conversation with
   * its count, and the subject of its latest message (on a tie, the later one: as one call per message, in order,
   * would leave it).
   */
  async recordMessages(
    tx: EntityManager,
    messages: ReadonlyArray<{
      locationId: string;
      conversationId: string;
      contactId: string;
      at: Date;
      subject: string;
    }>,
  ): Promise<void> {
    const byConversation = new Map<
      string,
      { first: (typeof messages)[number]; latest: (typeof messages)[number]; count: number }
    >();
    for (const m of messages) {
      const key = `${m.locationId}\u0000${m.conversationId}`;
      const c = byConversation.get(key);
      if (!c) byConversation.set(key, { first: m, latest: m, count: 1 });
      else {
        c.count += 1;
        if (m.at.getTime() >= c.latest.at.getTime()) c.latest = m;
      }
    }
    if (byConversation.size === 0) return;
    const rows = [...byConversation.values()];
    await tx.query(
      `INSERT INTO conversations.conversations AS c
         (location_id, conversation_id, contact_id, created_at, last_message_at, last_subject, message_count)
       SELECT l, id, ct, now(), at, s, n
       FROM unnest($1::text[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::int[]) AS q(l, id, ct, at, s, n)
       ON CONFLICT (location_id, conversation_id) DO UPDATE SET
         message_count = c.message_count + EXCLUDED.message_count,
         last_subject = CASE WHEN EXCLUDED.last_message_at >= c.last_message_at
                             THEN EXCLUDED.last_subject ELSE c.last_subject END,
         last_message_at = GREATEST(c.last_message_at, EXCLUDED.last_message_at)`,
      [
        rows.map((r) => r.first.locationId),
        rows.map((r) => r.first.conversationId),
        rows.map((r) => r.first.contactId),
        rows.map((r) => r.latest.at),
        rows.map((r) => r.latest.subject),
        rows.map((r) => r.count),
      ],
    );
  }
}
