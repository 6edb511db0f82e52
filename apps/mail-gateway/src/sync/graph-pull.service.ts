import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@mailbridge/platform-observability';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import {
  GRAPH_BATCH_MAX_REQUESTS,
  GraphMailApi,
  type GraphDeltaItem,
  type GraphFolder,
} from '@mailbridge/providers-microsoft';
import { mapLimit } from '../common/timing';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import type { GraphFolderEntity } from '../mailboxes/graph-folder.entity';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxAccess } from '../provider-access/mailbox-access';
import {
  ProviderCallPolicy,
  type BatchItemResult,
  type CallTarget,
} from '../provider-access/provider-call.policy';
import { asProviderFailure } from '../provider-access/provider-failure';
import { MailboxStateService } from '../state/mailbox-state.service';
import {
  MessageNormalizer,
  type NormalizedMessage,
  type RawMessageSource,
} from './message-normalizer.service';
import type { ExclusionCheck } from '../exclusions/sync-exclusion.screen';
import { GRAPH_FOLDERS } from './mailbox-watch.service';
import { MessageIsolation, type FetchedPage, type PullItem } from './message-isolation.service';
import { SyncHealthService } from '../mailboxes/sync-health.service';
import type { PullFinish } from '../mailboxes/pull-economy.policy';

const FETCH_CONCURRENCY = 3;
const PAGE_SIZE = 50;

/** What a delta page says of a message besides its id (kept with a failure so a retry can fetch it alike). */
interface GraphItemContext {
  readonly folder?: GraphFolder;
  readonly conversationId?: string | null;
  readonly receivedAt?: string | null;
}

/**
 * Graph pull, per folder (Inbox, Sent Items): the stored delta link (or next link of a round in progress) is
 * followed page by page; every new message's MIME is fetched in JSON `$batch` requests of 20 (one streamed `$value`
 * per message for a retry or an audit), stored, parsed and published, then the link moves, in one transaction per page. A baseline round (CON-6) and a gap re-list after `410 Gone` are the same
 * full round, observing only what was received after `import_after`; a gap older than the re-list window is
 * reported as a sync gap.
 */
@Injectable()
export class GraphPullService {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly access: MailboxAccess,
    private readonly policy: ProviderCallPolicy,
    private readonly graph: GraphMailApi,
    private readonly normalizer: MessageNormalizer,
    private readonly isolation: MessageIsolation,
    private readonly health: SyncHealthService,
    private readonly states: MailboxStateService,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `finish`, when given, records the pull's success with the last folder's last page (issue 16). */
  async pull(mailbox: MailboxEntity, keepAlive: () => Promise<void>, finish?: PullFinish): Promise<void> {
    const target = this.access.forMailbox(mailbox);
    const folders = await this.mailboxes.foldersOf(mailbox.id);
    const present = GRAPH_FOLDERS.flatMap((name) => {
      const folder = folders.find((f) => f.folder === name);
      return folder ? [folder] : [];
    });
    for (const [i, folder] of present.entries())
      await this.pullFolder(
        mailbox,
        folder,
        target,
        keepAlive,
        i === present.length - 1 ? finish : undefined,
      );
  }

  private async pullFolder(
    mailbox: MailboxEntity,
    initial: GraphFolderEntity,
    target: CallTarget,
    keepAlive: () => Promise<void>,
    finish?: PullFinish,
  ): Promise<void> {
    let link = initial.link;
    let importAfter = initial.importAfter;
    let roundStartedAt = link ? initial.roundStartedAt : new Date();
    const folder = initial.folder;
    for (;;) {
      if (!link) roundStartedAt = new Date();
      let page;
      try {
        page = await this.policy.run(target, { operation: 'messages.delta', idempotent: true }, (t) =>
          this.graph.delta(t, link ? { link } : { folder, pageSize: PAGE_SIZE }),
        );
      } catch (error) {
        if (asProviderFailure(error)?.code !== 'cursor_expired') throw error;
        importAfter = await this.beginRelist(mailbox, initial);
        link = null;
        continue;
      }
      // receivedDateTime has whole seconds: compare from the second that holds import_after, or a message received
      // in the same second just after it would be dropped.
      const floor = importAfter ? Math.floor(importAfter.getTime() / 1000) * 1000 : undefined;
      const wanted = page.items.filter(
        (i) =>
          !i.removed &&
          i.isDraft !== true &&
          (floor === undefined || (i.receivedAt !== undefined && i.receivedAt.getTime() >= floor)),
      );
      const fetched = await this.fetchNew(mailbox, folder, target, wanted);
      // SYN-7: read / trashed / deleted changes of synced messages, recorded with the page.
      const states = await this.states.graphStateObservations(mailbox, target, page.items);
      const next = page.nextLink ?? page.deltaLink ?? null;
      const roundDone = !page.nextLink;
      await this.isolation.commitPage(mailbox, fetched, async (tx) => {
        await this.states.record(tx, mailbox, states);
        await this.mailboxes.updateFolder(tx.manager, mailbox.id, folder, {
          link: next,
          roundStartedAt,
          ...(roundDone ? { importAfter: null, syncedAt: roundStartedAt } : { importAfter }),
        });
        if (roundDone) await finish?.inTransaction(tx);
      });
      await keepAlive();
      link = next;
      if (roundDone) return;
    }
  }

  /** The messages not observed (nor quarantined) yet, each isolated: one message's own failure is not the pull's. */
  private fetchNew(
    mailbox: MailboxEntity,
    folder: GraphFolder,
    target: CallTarget,
    items: readonly GraphDeltaItem[],
  ): Promise<FetchedPage> {
    const answers = new Map<string, BatchItemResult<Buffer>>();
    // SYN-8 lists read once for the page (issue 16), not once per message.
    const screen = this.normalizer.pageScreen(mailbox.provider, mailbox.emailAddress);
    return this.isolation.fetchEach(
      mailbox,
      items.map((i) => ({
        id: i.id,
        context: {
          folder,
          conversationId: i.conversationId ?? null,
          receivedAt: i.receivedAt?.toISOString() ?? null,
        },
      })),
      FETCH_CONCURRENCY,
      async (item) => {
        const answer = answers.get(item.id);
        if (!answer) return this.fetchOne(mailbox, target, item, screen);
        if (!answer.ok) {
          // Moved or deleted before we fetched it: delta will say where it went.
          if (asProviderFailure(answer.error)?.code === 'not_found') return undefined;
          throw answer.error;
        }
        return this.normalizer.normalize(this.sourceOf(item, answer.value), mailbox.emailAddress, screen);
      },
      // The MIME in JSON $batch requests of 20, each within one of the mailbox's concurrency slots.
      async (fresh) => {
        const chunks: string[][] = [];
        for (let i = 0; i < fresh.length; i += GRAPH_BATCH_MAX_REQUESTS)
          chunks.push(fresh.slice(i, i + GRAPH_BATCH_MAX_REQUESTS).map((f) => f.id));
        await mapLimit(chunks, FETCH_CONCURRENCY, async (chunk) => {
          const results = await this.policy.runBatch(
            target,
            { operation: 'messages.$value', idempotent: true },
            chunk,
            (t, batch) => this.graph.mimeBatch(t, batch),
          );
          for (const [id, r] of results) answers.set(id, r);
        });
      },
    );
  }

  private sourceOf(item: PullItem, raw: RawMessageSource['raw']): RawMessageSource {
    const context = (item.context ?? {}) as GraphItemContext;
    const folder = context.folder ?? 'inbox';
    return {
      provider: 'microsoft',
      providerMessageId: item.id,
      providerThreadId: context.conversationId ?? null,
      receivedAt: context.receivedAt ? new Date(context.receivedAt) : new Date(),
      labels: [folder],
      inSent: folder === 'sentitems',
      raw,
    };
  }

  /** One message's MIME streamed, stored and normalised; undefined when moved or deleted meanwhile (404). */
  async fetchOne(
    mailbox: MailboxEntity,
    target: CallTarget,
    item: PullItem,
    screen?: ExclusionCheck,
  ): Promise<NormalizedMessage | undefined> {
    try {
      // The stream is consumed inside the budgeted call, so the concurrency slot covers the download.
      return await this.policy.run(target, { operation: 'messages.$value', idempotent: true }, async (t) =>
        this.normalizer.normalize(
          this.sourceOf(item, await this.graph.mime(t, item.id)),
          mailbox.emailAddress,
          screen,
        ),
      );
    } catch (error) {
      // Moved or deleted before we fetched it: delta will say where it went.
      if (asProviderFailure(error)?.code === 'not_found') return undefined;
      throw error;
    }
  }

  /** 410 Gone: a new full round observes what arrived since the folder's last sync (bounded), reporting the rest. */
  private async beginRelist(mailbox: MailboxEntity, folder: GraphFolderEntity): Promise<Date> {
    const now = Date.now();
    const lastSynced = folder.syncedAt ?? mailbox.cursorSyncedAt ?? mailbox.createdAt;
    const gapStart = new Date(lastSynced.getTime() - this.config.GAP_SAFETY_MARGIN_MINUTES * 60_000);
    const oldestAllowed = new Date(now - this.config.GAP_RELIST_MAX_DAYS * 86_400_000);
    // Never before the baseline: mail from before the mailbox was connected is not imported (CON-6).
    const floor = new Date(Math.max(oldestAllowed.getTime(), mailbox.baselineAt?.getTime() ?? 0));
    const importAfter = gapStart < floor ? floor : gapStart;
    this.logger.warn(
      { mailboxId: mailbox.id, folder: folder.folder, importAfter },
      'Graph delta expired: re-listing',
    );
    await this.uow.run(async (tx) => {
      const gapFrom = new Date(Math.max(gapStart.getTime(), mailbox.baselineAt?.getTime() ?? 0));
      await this.health.emitGap(tx, mailbox, gapFrom, oldestAllowed, 'delta_expired');
      await this.mailboxes.updateFolder(tx.manager, mailbox.id, folder.folder, { link: null, importAfter });
      await this.health.apply(tx, mailbox.id, { stage: 'catching_up' });
    });
    return importAfter;
  }
}
