import { Inject, Injectable } from '@nestjs/common';
import { type PayloadOf, mailboxAuditedV1 } from '@mailbridge/contracts';
import type { Logger } from '@mailbridge/platform-observability';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GMAIL_QUOTA_UNITS, GmailApi } from '@mailbridge/providers-google';
import { GraphMailApi, type GraphFolder } from '@mailbridge/providers-microsoft';
import { GatewayMetrics } from '../common/gateway.metrics';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { MailboxAccess } from '../provider-access/mailbox-access';
import { ProviderCallPolicy, type CallTarget } from '../provider-access/provider-call.policy';
import { GmailPullService } from '../sync/gmail-pull.service';
import { GraphPullService } from '../sync/graph-pull.service';
import { MessageIsolation, isMessageSpecific, type PullItem } from '../sync/message-isolation.service';
import type { NormalizedMessage } from '../sync/message-normalizer.service';
import { MessagesPendingError } from '../mailboxes/messages-pending.error';
import { ObservedMessagePublisher } from '../sync/observed-message.publisher';
import { SyncHealthService } from '../mailboxes/sync-health.service';
import { MessageLedgerRepository, type LedgerEntry } from '../ledger/message-ledger.repository';

const GMAIL_LABELS = ['INBOX', 'SENT'];
const GRAPH_FOLDERS: GraphFolder[] = ['inbox', 'sentitems'];
/** An audit lists at most this many ids per mailbox; beyond it the report says `incomplete` (never a silent cut). */
const MAX_LISTED = 5_000;
const PAGE_SIZE = 500;
const REDRIVE_CONCURRENCY = 4;
/** An unchanged, complete audit is announced (`mailbox.audited`) at most this often: the CRM's lastAuditAt. */
const ANNOUNCE_UNCHANGED_MS = 60 * 60_000;

type AuditedPayload = PayloadOf<typeof mailboxAuditedV1>;
export type AuditStatus = AuditedPayload['status'];

/** The report of one audit (the `mailbox.audited` payload's numbers, plus what an operator needs to dig in). */
export interface AuditReport extends Pick<
  AuditedPayload,
  'mailboxKey' | 'window' | 'checkedAt' | 'providerMessages' | 'accounted' | 'missing' | 'healed'
> {
  /** Observed within the grace period, no outcome yet: a slow pipeline, not a gap (never re-driven). */
  readonly inFlight: number;
  readonly status: AuditStatus;
  /** The first ids found missing by this audit (at most 100). */
  readonly missingIds: readonly string[];
  /** Why the audit could not check or heal everything (status incomplete). */
  readonly incompleteReason: string | null;
  /** Provider calls this audit made (its cost in quota: Gmail units, Graph requests). */
  readonly providerCalls: number;
}

interface Listed {
  readonly ids: string[];
  /** What fetching a listed message needs (Graph: its folder and receipt time). */
  readonly contexts: ReadonlyMap<string, Record<string, unknown>>;
  readonly truncated: boolean;
  readonly calls: number;
}

/**
 * SYN-10, proof of completeness: compares the provider's messages of a mailbox in the window (ids only) with the
 * ledger of outcomes and re-drives every id without one through the normal pipeline: not observed → fetched and
 * observed as a pull would (failures counted and quarantined by MessageIsolation); observed but never decided →
 * `message.observed` again (sync-engine recognises a repeat). Idempotent: running it twice changes nothing more.
 */
@Injectable()
export class MailboxAuditService {
  constructor(
    private readonly ledger: MessageLedgerRepository,
    private readonly access: MailboxAccess,
    private readonly policy: ProviderCallPolicy,
    private readonly gmail: GmailApi,
    private readonly graph: GraphMailApi,
    private readonly gmailPull: GmailPullService,
    private readonly graphPull: GraphPullService,
    private readonly isolation: MessageIsolation,
    private readonly publisher: ObservedMessagePublisher,
    private readonly health: SyncHealthService,
    private readonly metrics: GatewayMetrics,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async run(mailbox: MailboxEntity): Promise<AuditReport> {
    const started = process.hrtime.bigint();
    const now = new Date();
    const graceMs = this.config.AUDIT_GRACE_MINUTES * 60_000;
    const to = new Date(now.getTime() - graceMs);
    // Never before the start point: mail from before the connection is not imported (CON-6).
    const from = new Date(
      Math.max(
        now.getTime() - this.config.AUDIT_WINDOW_HOURS * 3_600_000,
        (mailbox.baselineAt ?? mailbox.createdAt).getTime(),
      ),
    );
    const target = this.access.forMailbox(mailbox);
    let incompleteReason: string | null = null;
    let listed: Listed = { ids: [], contexts: new Map(), truncated: false, calls: 0 };
    if (from < to) {
      try {
        listed = await this.list(mailbox, target, from, to);
        if (listed.truncated) incompleteReason = `more than ${MAX_LISTED} messages in the window`;
      } catch (error) {
        incompleteReason = `listing failed: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const entries = await this.ledger.entries(mailbox.id, listed.ids);
    const accounted = { synced: 0, notSynced: 0, skipped: 0, quarantined: 0 };
    const notObserved: string[] = [];
    const undecided: string[] = [];
    let healed = 0;
    let inFlight = 0;
    // Re-driven by an earlier audit, observed again just now, outcome still pending: the heal is not done yet.
    let healPending = 0;
    for (const id of listed.ids) {
      const e: LedgerEntry | undefined = entries.get(id);
      if (e?.outcome) {
        if (e.outcome === 'synced') accounted.synced++;
        else if (e.outcome === 'not_synced') accounted.notSynced++;
        else if (e.outcome === 'skipped') accounted.skipped++;
        else accounted.quarantined++;
        if (e.redriven) healed++;
      } else if (!e?.observedAt) {
        notObserved.push(id);
      } else if (e.observedAt.getTime() > now.getTime() - graceMs) {
        inFlight++;
        if (e.redriven) healPending++;
      } else {
        undecided.push(id);
      }
    }
    const missingIds = [...notObserved, ...undecided];
    if (missingIds.length > 0) {
      await this.uow.run((tx) => this.ledger.markRedriven(tx.manager, mailbox.id, missingIds));
      try {
        await this.redriveUnobserved(mailbox, target, notObserved, listed.contexts);
        await this.redriveUndecided(mailbox, target, undecided, listed.contexts);
      } catch (error) {
        if (!(error instanceof MessagesPendingError)) {
          incompleteReason ??= `re-drive failed: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
    }
    const status: AuditStatus = incompleteReason
      ? 'incomplete'
      : missingIds.length > 0 || healPending > 0
        ? 'healing'
        : 'complete';
    const report: AuditReport = {
      mailboxKey: mailbox.mailboxKey,
      window: { from: from.toISOString(), to: (from < to ? to : from).toISOString() },
      checkedAt: now.toISOString(),
      providerMessages: listed.ids.length,
      accounted,
      missing: missingIds.length,
      healed,
      inFlight,
      status,
      missingIds: missingIds.slice(0, 100),
      incompleteReason,
      providerCalls: listed.calls,
    };
    // Idle mailboxes are the common case: one statement, and an announcement only when something changed (a gap
    // found, a status change) or an hour passed — the outbox, relay and consumers cost more than the audit itself.
    const saved = await this.ledger.saveReport(mailbox.id, report);
    const announce =
      status !== 'complete' ||
      saved.previousStatus !== status ||
      !saved.announcedAt ||
      now.getTime() - saved.announcedAt.getTime() >= ANNOUNCE_UNCHANGED_MS;
    if (announce) await this.announce(mailbox, report);
    const provider = mailbox.provider;
    this.metrics.audits.inc({ provider, status });
    this.metrics.auditMessages.inc({ provider, kind: 'checked' }, listed.ids.length);
    this.metrics.auditMessages.inc({ provider, kind: 'missing' }, missingIds.length);
    this.metrics.auditMessages.inc({ provider, kind: 'healed' }, missingIds.length);
    this.metrics.auditMessages.inc({ provider, kind: 'quarantined' }, accounted.quarantined);
    this.metrics.auditSeconds.observe({ provider }, Number(process.hrtime.bigint() - started) / 1e9);
    if (missingIds.length > 0 || status !== 'complete') {
      this.logger.warn(
        {
          mailboxId: mailbox.id,
          status,
          missing: missingIds.length,
          missingIds: report.missingIds,
          incompleteReason,
        },
        'completeness audit found messages without an outcome: re-driven',
      );
    }
    return report;
  }

  private async announce(mailbox: MailboxEntity, report: AuditReport): Promise<void> {
    await this.uow.run(async (tx) => {
      tx.emit(mailboxAuditedV1, {
        mailboxId: mailbox.id,
        mailboxKey: mailbox.mailboxKey,
        connections: await this.health.connectionsPayload(tx, mailbox.id),
        window: report.window,
        checkedAt: report.checkedAt,
        providerMessages: report.providerMessages,
        accounted: report.accounted,
        missing: report.missing,
        healed: report.healed,
        status: report.status,
      });
      await this.ledger.markAnnounced(tx.manager, mailbox.id, report.checkedAt);
    });
  }

  /** Provider ids in [from, to), Inbox and Sent, ids only, within the mailbox's budget. */
  private async list(mailbox: MailboxEntity, target: CallTarget, from: Date, to: Date): Promise<Listed> {
    const ids = new Map<string, Record<string, unknown>>();
    let calls = 0;
    let truncated = false;
    if (mailbox.provider === 'google') {
      // `after:`/`before:` take whole seconds: a second early at the start (the exact start point is checked when a
      // message is fetched), and only whole seconds before the end (younger ones wait for the next audit).
      const q = `after:${Math.floor(from.getTime() / 1000) - 1} before:${Math.floor(to.getTime() / 1000)}`;
      for (const label of GMAIL_LABELS) {
        let pageToken: string | undefined;
        do {
          const page = await this.policy.run(
            target,
            { operation: 'users.messages.list', units: GMAIL_QUOTA_UNITS.messagesList, idempotent: true },
            (t) => this.gmail.listMessages(t, { q, labelIds: [label], pageToken, maxResults: PAGE_SIZE }),
          );
          calls++;
          for (const m of page.messages) ids.set(m.id, {});
          pageToken = page.nextPageToken;
          if (pageToken && ids.size >= MAX_LISTED) truncated = true;
        } while (pageToken && !truncated);
      }
    } else {
      for (const folder of GRAPH_FOLDERS) {
        let link: string | undefined;
        do {
          const page = await this.policy.run(target, { operation: 'messages.list', idempotent: true }, (t) =>
            this.graph.listIds(t, link ? { link } : { folder, from, pageSize: PAGE_SIZE }),
          );
          calls++;
          for (const m of page.items) {
            if (m.receivedAt < to) ids.set(m.id, { folder, receivedAt: m.receivedAt.toISOString() });
          }
          link = page.nextLink;
          if (link && ids.size >= MAX_LISTED) truncated = true;
        } while (link && !truncated);
      }
    }
    return { ids: [...ids.keys()], contexts: ids, truncated, calls };
  }

  /** Fetched and observed as a pull would; out of scope when fetched (moved, before the start point): not_synced. */
  private async redriveUnobserved(
    mailbox: MailboxEntity,
    target: CallTarget,
    ids: string[],
    contexts: ReadonlyMap<string, Record<string, unknown>>,
  ): Promise<void> {
    if (ids.length === 0) return;
    const outOfScope: string[] = [];
    const fetched = await this.isolation.fetchEach(
      mailbox,
      ids.map((id) => ({ id, context: contexts.get(id) })),
      REDRIVE_CONCURRENCY,
      async (item) => {
        const m = await this.fetchOne(mailbox, target, item);
        if (!m) outOfScope.push(item.id);
        return m;
      },
    );
    if (outOfScope.length > 0) {
      await this.uow.run(async (tx) => {
        for (const id of outOfScope) {
          await this.ledger.recordOwn(tx.manager, mailbox.id, id, 'not_synced', 'CON-6', 'out_of_scope');
        }
      });
    }
    await this.isolation.commitPage(mailbox, fetched, async () => undefined);
  }

  /** Observed, never decided: the same message emitted again; a message-specific failure is counted as in a pull. */
  private async redriveUndecided(
    mailbox: MailboxEntity,
    target: CallTarget,
    ids: string[],
    contexts: ReadonlyMap<string, Record<string, unknown>>,
  ): Promise<void> {
    const messages: NormalizedMessage[] = [];
    for (const id of ids) {
      const item: PullItem = { id, context: contexts.get(id) };
      try {
        const m = await this.fetchOne(mailbox, target, item);
        if (m) messages.push(m);
      } catch (error) {
        if (!isMessageSpecific(error)) throw error;
        await this.isolation.fail(mailbox, item, error);
      }
    }
    if (messages.length > 0) {
      await this.uow.run((tx) => this.publisher.republish(tx, mailbox, messages));
    }
  }

  private fetchOne(mailbox: MailboxEntity, target: CallTarget, item: PullItem) {
    return mailbox.provider === 'google'
      ? this.gmailPull.fetchOne(mailbox, target, item.id, mailbox.baselineAt ?? undefined)
      : this.graphPull.fetchOne(mailbox, target, item);
  }
}
