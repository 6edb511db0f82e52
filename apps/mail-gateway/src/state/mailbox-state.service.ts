import { Inject, Injectable } from '@nestjs/common';
import { messageStateChangedV1 } from '@mailbridge/contracts';
import { stateChangesBetween, type StateFlag } from '@mailbridge/domain-mail';
import type { Logger } from '@mailbridge/platform-observability';
import type { TransactionContext } from '@mailbridge/platform-persistence';
import { LOGGER } from '@mailbridge/platform-runtime';
import type { GmailHistoryPage, GmailHistoryType } from '@mailbridge/providers-google';
import { GraphMailApi, type GraphDeltaItem } from '@mailbridge/providers-microsoft';
import { DataSource } from 'typeorm';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { ProviderCallPolicy, type CallTarget } from '../provider-access/provider-call.policy';
import { asProviderFailure } from '../provider-access/provider-failure';
import { SyncHealthService } from '../mailboxes/sync-health.service';
import { MessageStateRepository } from './message-state.repository';

/** What a pull saw of one message's state: the flags it tells (others unknown) and when. */
export interface StateObservation {
  readonly providerMessageId: string;
  readonly state: Partial<Record<StateFlag, boolean>>;
  readonly at: Date;
}

/** The history types a Gmail pull asks for: new mail, and the state changes of SYN-7. */
export const GMAIL_STATE_HISTORY_TYPES: readonly GmailHistoryType[] = [
  'messageAdded',
  'labelAdded',
  'labelRemoved',
  'messageDeleted',
];

const STATE_LABELS = ['UNREAD', 'TRASH'];

/**
 * Gmail history records → state observations, in record order: a label change of UNREAD or TRASH gives the
 * message's read and trashed state after it (its labels in the record); `messagesDeleted` gives deleted. Gmail has no
 * change time per record: `at` is when the page was pulled.
 */
export function gmailStateObservations(records: GmailHistoryPage['records'], at: Date): StateObservation[] {
  const out: StateObservation[] = [];
  for (const r of records) {
    for (const change of [...(r.labelsAdded ?? []), ...(r.labelsRemoved ?? [])]) {
      if (!change.labelIds.some((l) => STATE_LABELS.includes(l))) continue;
      const labels = change.message.labelIds;
      out.push({
        providerMessageId: change.message.id,
        state: { read: !labels.includes('UNREAD'), trashed: labels.includes('TRASH') },
        at,
      });
    }
    for (const id of r.deleted ?? []) out.push({ providerMessageId: id, state: { deleted: true }, at });
  }
  return out;
}

/**
 * SYN-7, mailbox → CRM: state changes of synced messages seen by the pulls become `message.state-changed`, once per
 * real change. Only ids the ledger holds as synced are considered (never the state of other mail, and no provider
 * call for it); a state equal to the one we know, including the one we applied for the CRM ourselves, is no change:
 * that is how our own changes coming back through history/delta are not bounced.
 */
@Injectable()
export class MailboxStateService {
  /** Deleted Items folder id per mailbox (stable for a mailbox's life). */
  private readonly deletedItems = new Map<string, string>();

  constructor(
    private readonly repo: MessageStateRepository,
    private readonly health: SyncHealthService,
    private readonly policy: ProviderCallPolicy,
    private readonly graph: GraphMailApi,
    private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Graph delta items → observations. An item still in the folder tells `isRead` (and that it is neither trashed nor
   * deleted); an `@removed` one of a synced message is looked up: gone (404) is deleted, in Deleted Items is trashed,
   * elsewhere (moved by the user) says nothing of SYN-7's flags.
   */
  async graphStateObservations(
    mailbox: MailboxEntity,
    target: CallTarget,
    items: readonly GraphDeltaItem[],
  ): Promise<StateObservation[]> {
    const now = new Date();
    const synced = await this.repo.syncedAmong(
      this.dataSource.manager,
      mailbox.id,
      items.map((i) => i.id),
    );
    const out: StateObservation[] = [];
    for (const item of items) {
      if (!synced.has(item.id)) continue;
      if (!item.removed) {
        if (item.isRead === undefined) continue;
        out.push({
          providerMessageId: item.id,
          state: { read: item.isRead, trashed: false, deleted: false },
          at: item.lastModifiedAt ?? now,
        });
        continue;
      }
      try {
        const found = await this.policy.run(target, { operation: 'messages.get', idempotent: true }, (t) =>
          this.graph.getMessage(t, item.id),
        );
        const deletedItems = await this.deletedItemsFolder(mailbox, target);
        if (found.parentFolderId && found.parentFolderId === deletedItems) {
          out.push({ providerMessageId: item.id, state: { trashed: true, deleted: false }, at: now });
        }
      } catch (error) {
        if (asProviderFailure(error)?.code !== 'not_found') throw error;
        out.push({ providerMessageId: item.id, state: { deleted: true }, at: now });
      }
    }
    return out;
  }

  /** Emits one event per synced message whose state changed, and remembers the new state; answers how many. */
  async record(
    tx: TransactionContext,
    mailbox: MailboxEntity,
    observations: readonly StateObservation[],
  ): Promise<number> {
    if (observations.length === 0) return 0;
    const ids = [...new Set(observations.map((o) => o.providerMessageId))];
    const synced = await this.repo.syncedAmong(tx.manager, mailbox.id, ids);
    if (synced.size === 0) return 0;
    const known = await this.repo.known(tx.manager, mailbox.id, [...synced]);
    // The last observation of each message is its state now; flags a later one does not tell keep earlier values.
    const latest = new Map<string, StateObservation>();
    for (const o of observations) {
      if (!synced.has(o.providerMessageId)) continue;
      const prev = latest.get(o.providerMessageId);
      latest.set(o.providerMessageId, prev ? { ...o, state: { ...prev.state, ...o.state } } : o);
    }
    let connections: Awaited<ReturnType<SyncHealthService['connectionsPayload']>> | undefined;
    let emitted = 0;
    for (const [id, o] of latest) {
      const before = known.get(id);
      // Never seen: as a message arrives (unread, in the folder). A flag then observed at that value is no change.
      const knownFlags = {
        read: before?.read ?? false,
        trashed: before?.trashed ?? false,
        deleted: before?.deleted ?? false,
      };
      // Provider times have whole seconds (Graph) or are pull times (Gmail): a later observation of the same message
      // is always a later change, so its time is kept after the last known one.
      const at = new Date(Math.max(o.at.getTime(), (before?.changedAt.getTime() ?? 0) + 1));
      const changes = stateChangesBetween(knownFlags, o.state, at.getTime(), 'mailbox');
      if (changes.length === 0) continue;
      const state = { ...knownFlags, ...o.state };
      connections ??= await this.health.connectionsPayload(tx, mailbox.id);
      tx.emit(messageStateChangedV1, {
        mailboxId: mailbox.id,
        mailboxKey: mailbox.mailboxKey,
        connections,
        provider: mailbox.provider,
        providerMessageId: id,
        state: {
          read: state.read ?? false,
          trashed: state.trashed ?? false,
          deleted: state.deleted ?? false,
        },
        changed: changes.map((c) => c.flag),
        changedAt: at.toISOString(),
      });
      await this.repo.save(tx.manager, mailbox.id, id, o.state, at);
      emitted++;
    }
    if (emitted > 0)
      this.logger.info({ mailboxId: mailbox.id, changed: emitted }, 'mailbox state changes (SYN-7)');
    return emitted;
  }

  private async deletedItemsFolder(mailbox: MailboxEntity, target: CallTarget): Promise<string> {
    const cached = this.deletedItems.get(mailbox.id);
    if (cached) return cached;
    const id = await this.policy.run(target, { operation: 'mailFolders.get', idempotent: true }, (t) =>
      this.graph.wellKnownFolderId(t, 'deleteditems'),
    );
    this.deletedItems.set(mailbox.id, id);
    return id;
  }
}
