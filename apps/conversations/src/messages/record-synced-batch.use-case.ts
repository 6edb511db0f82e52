import { Injectable } from '@nestjs/common';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { runWithContext } from '@mailbridge/platform-observability';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { type EventContext, MessageActivityService, classificationOf } from './message-activity.service';
import type { MessageEntity } from './message.entity';
import { type SortKey, earliestKey, placeInThread, sortKeyOf } from './message-order';
import { attachmentRowsOf, syncedMessageRow } from './message-row.factory';
import type { NewMessage } from './message-rows';
import { MessagesBatchRepository, insertAttachments } from './messages-batch.repository';
import {
  type MessageSynced,
  RecordSyncedMessageUseCase,
  assertConversationOf,
} from './record-synced-message.use-case';
import { findSameAmong } from './same-message';

export interface SyncedItem {
  readonly payload: MessageSynced;
  readonly context: EventContext;
}

interface Pending {
  readonly item: SyncedItem;
  readonly row: NewMessage;
  readonly reusedMessageId: boolean;
}

const sameConversation = (a: NewMessage, b: Pick<MessageEntity, 'locationId' | 'conversationId'>) =>
  a.locationId === b.locationId && a.conversationId === b.conversationId;

/** A message the batch leaves to the single path: a copy of a CRM send (it merges into, and moves, that send). */
const claimsCrmSend = (p: MessageSynced) => !!p.crmMessageId || p.source === 'crm';

/**
 * RecordSyncedMessageUseCase for a batch of message.synced (issue 16), with the same outcome as recording them one
 * after the other. The batch is cut into runs of new messages, each recorded with a constant number of statements: one
 * locked lookup of what they may duplicate (SYN-5), one of their thread neighbours (SYN-6), one insert of the messages,
 * one of their attachments, one conversation upsert, one CRM-send lookup for the replies (SYN-9). A message that is
 * not new (a copy of a recorded message, of an earlier one of the batch, or of a CRM send) ends its run and goes
 * through the single path, after the run is written; the rest of the batch is then looked up again.
 */
@Injectable()
export class RecordSyncedBatchUseCase {
  constructor(
    private readonly single: RecordSyncedMessageUseCase,
    private readonly batch: MessagesBatchRepository,
    private readonly conversations: ConversationsRepository,
    private readonly activity: MessageActivityService,
  ) {}

  async execute(tx: TransactionContext, items: readonly SyncedItem[]): Promise<void> {
    for (const item of items) assertConversationOf(item.payload);
    let rest = items;
    while (rest.length > 0) {
      const run = await this.newRun(tx, rest);
      await this.record(tx, run);
      const next = rest[run.length];
      if (!next) return;
      await runWithContext(next.context, () => this.single.execute(tx, next.payload));
      rest = rest.slice(run.length + 1);
    }
  }

  /** The longest run of new messages at the start of `items` (SYN-5, as findSame decides it one at a time). */
  private async newRun(tx: TransactionContext, items: readonly SyncedItem[]): Promise<Pending[]> {
    const end = items.findIndex((item) => claimsCrmSend(item.payload));
    const candidates = items.slice(0, end < 0 ? items.length : end);
    if (candidates.length === 0) return [];
    const rows = candidates.map((item) => syncedMessageRow(item.payload));
    const present = <T>(values: ReadonlyArray<T | null>) => [...new Set(values)].filter((v): v is T => !!v);
    const recorded = await this.batch.lockCandidates(tx.manager, {
      locationIds: present(rows.map((r) => r.locationId)),
      conversationIds: present(rows.map((r) => r.conversationId)),
      deliveryIds: present(rows.map((r) => r.deliveryId)),
      providerMessages: rows.flatMap((r) =>
        r.provider && r.providerMessageId
          ? [{ provider: r.provider, providerMessageId: r.providerMessageId }]
          : [],
      ),
      rfcMessageIds: present(rows.map((r) => r.rfcMessageId)),
    });
    const run: Pending[] = [];
    for (const [i, item] of candidates.entries()) {
      const row = rows[i];
      const earlier = run.map((p) => p.row);
      const same = findSameAmong(
        [...recorded, ...earlier].filter((m) => sameConversation(row, m)),
        { ...row, sentAt: item.payload.message.sentAt },
      );
      if (same.existing) break;
      run.push({ item, row, reusedMessageId: same.reusedMessageId });
    }
    return run;
  }

  private async record(tx: TransactionContext, run: readonly Pending[]): Promise<void> {
    if (run.length === 0) return;
    const keys = await this.place(tx, run);
    for (const p of run) {
      if (p.reusedMessageId)
        runWithContext(p.item.context, () => this.single.reportReusedMessageId(tx, p.item.payload));
    }
    const inserted = await this.batch.insertMessages(
      tx.manager,
      run.map((p, i) => ({ message: p.row, key: keys[i], classification: classificationOf(p.item.payload) })),
    );
    // A row that another transaction recorded meanwhile is left to it, as the single path leaves it.
    const recorded = run.filter((p) => inserted.has(p.row.messageId.toLowerCase()));
    await insertAttachments(
      tx.manager,
      recorded.flatMap((p) =>
        attachmentRowsOf(p.row.locationId, p.row.messageId, p.item.payload.message.attachments),
      ),
    );
    await this.conversations.recordMessages(
      tx.manager,
      recorded.map((p) => ({ ...p.row, at: p.row.sortAt })),
    );
    await this.activity.afterRecordedBatch(
      tx,
      recorded.map((p) => ({ p: p.item.payload, messageId: p.row.messageId, context: p.item.context })),
    );
  }

  /**
   * placeOf for each message of the run, in order: its recorded parent and first reply (one statement), or an
   * earlier message of the run where that comes first (recorded rows have the lower seq, so they win ties).
   */
  private async place(tx: TransactionContext, run: readonly Pending[]): Promise<SortKey[]> {
    const threaded = run.some((p) => p.row.inReplyTo || p.row.rfcMessageId);
    const recorded = threaded
      ? await this.batch.threadNeighbours(
          tx.manager,
          run.map((p) => p.row),
        )
      : [];
    const keys: SortKey[] = [];
    for (const [i, { row }] of run.entries()) {
      const earlier = run.slice(0, i).map((p, j) => ({ row: p.row, key: keys[j] }));
      const mine = earlier.filter((e) => sameConversation(row, e.row) && e.row.messageId !== row.messageId);
      const parent =
        recorded[i]?.parent ??
        (row.inReplyTo ? mine.find((e) => e.row.rfcMessageId === row.inReplyTo)?.key : undefined);
      const firstReply = earliestKey([
        recorded[i]?.firstReply,
        ...(row.rfcMessageId
          ? mine.filter((e) => e.row.inReplyTo === row.rfcMessageId).map((e) => e.key)
          : []),
      ]);
      keys.push(placeInThread(sortKeyOf(row), { parent, firstReply }));
    }
    return keys;
  }
}
