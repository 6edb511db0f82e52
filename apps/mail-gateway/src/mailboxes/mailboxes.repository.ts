import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { GraphFolderEntity } from './graph-folder.entity';
import { MailboxConnectionEntity } from './mailbox-connection.entity';
import { MailboxEntity, type MailboxDesired, type MailboxStage } from './mailbox.entity';
import { findEntityBy, hydrateRow, queryPreparedRows, queryRows } from '@mailbridge/platform-persistence';

type Db = EntityManager | DataSource;

/** Columns a use case may set, by entity property. */
const MAILBOX_COLUMNS = {
  desired: 'desired',
  stage: 'stage',
  historyId: 'history_id',
  cursorSyncedAt: 'cursor_synced_at',
  baselineAt: 'baseline_at',
  recovery: 'recovery',
  watchExpiresAt: 'watch_expires_at',
  watchRenewAt: 'watch_renew_at',
  renewalFailures: 'renewal_failures',
  pullRequestedAt: 'pull_requested_at',
  backoffUntil: 'backoff_until',
  failures: 'failures',
  lastNotificationAt: 'last_notification_at',
  lastPullAt: 'last_pull_at',
  lastSyncedAt: 'last_synced_at',
  lastErrorCode: 'last_error_code',
  lastErrorMessage: 'last_error_message',
  lastErrorAt: 'last_error_at',
  healthSignature: 'health_signature',
  healthPublishedAt: 'health_published_at',
} as const;

export type MailboxPatch = Partial<{
  [K in keyof typeof MAILBOX_COLUMNS]: K extends 'recovery' ? unknown : MailboxEntity[K];
}>;

const FOLDER_COLUMNS = {
  link: 'link',
  importAfter: 'import_after',
  roundStartedAt: 'round_started_at',
  syncedAt: 'synced_at',
  subscriptionId: 'subscription_id',
  clientStateDigest: 'client_state_digest',
  subscriptionExpiresAt: 'subscription_expires_at',
  subscriptionAction: 'subscription_action',
} as const;

export type FolderPatch = Partial<{ [K in keyof typeof FOLDER_COLUMNS]: GraphFolderEntity[K] }>;

function setClause(
  columns: Record<string, string>,
  patch: Record<string, unknown>,
  offset: number,
): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(patch)) {
    const column = columns[key];
    if (!column || value === undefined) continue;
    values.push(column === 'recovery' && value !== null ? JSON.stringify(value) : value);
    parts.push(`${column} = $${offset + values.length}`);
  }
  return { sql: parts.join(', '), values };
}

export interface ConnectionChange {
  readonly connectionId: string;
  readonly mailboxId: string;
  readonly locationId: string;
  readonly userId: string;
  readonly status: string;
  readonly changedAt: Date;
}

/** A Gmail history id as SQL compares it (a number); null when absent or not one (then it proves nothing). */
const historyParam = (id: string | null | undefined): string | null =>
  id && /^\d{1,40}$/.test(id) ? id : null;

/** The pending pull request is served ($2: the request the pull saw; $3: the history its committed cursor reached). */
const REQUEST_SERVED = `(pull_requested_at < coalesce($2::timestamptz, '-infinity') + interval '1 millisecond'
  OR pull_request_history_id::numeric <= $3::numeric)`;

/** Mailboxes, the connections pointing at them, and their Graph folders. */
@Injectable()
export class MailboxesRepository {
  constructor(
    private readonly dataSource: DataSource,
    @InjectRepository(MailboxEntity) private readonly mailboxes: Repository<MailboxEntity>,
    @InjectRepository(MailboxConnectionEntity)
    private readonly connections: Repository<MailboxConnectionEntity>,
    @InjectRepository(GraphFolderEntity) private readonly folders: Repository<GraphFolderEntity>,
  ) {}

  // Issue 16: every pull and notification reads the row; one statement of fixed text, not TypeORM's query builder.
  findById(id: string, db?: EntityManager): Promise<MailboxEntity | null> {
    return findEntityBy(db ?? this.dataSource, MailboxEntity, 'id', id);
  }

  findByKey(mailboxKey: string, db?: EntityManager): Promise<MailboxEntity | null> {
    return findEntityBy(db ?? this.dataSource, MailboxEntity, 'mailbox_key', mailboxKey);
  }

  /** The mailbox row, locked until the transaction ends (serialises cap checks and state transitions). */
  async lock(tx: EntityManager, id: string): Promise<void> {
    await tx.query(`SELECT id FROM mail_gateway.mailboxes WHERE id = $1 FOR UPDATE`, [id]);
  }

  /**
   * The mailbox of a key, created (stopped) on first sight, as it now is and locked until the transaction ends: the
   * upsert locks the row it updates, and a row it inserts is seen by nobody else before the commit (issue 16: no
   * separate lock and read).
   */
  async ensure(
    tx: EntityManager,
    input: { mailboxKey: string; provider: string; emailAddress: string },
  ): Promise<MailboxEntity> {
    const rows = await queryRows<Record<string, unknown>>(
      tx,
      `INSERT INTO mail_gateway.mailboxes (id, mailbox_key, provider, email_address, desired, stage)
       VALUES ($1, $2, $3, $4, 'stopped', 'stopped')
       ON CONFLICT (mailbox_key) DO UPDATE SET updated_at = now()
       RETURNING *`,
      [randomUUID(), input.mailboxKey, input.provider, input.emailAddress.toLowerCase()],
    );
    return hydrateRow(tx, MailboxEntity, rows[0]);
  }

  /** {@link update}, answering the row as it now is (null: no such mailbox), in the same statement. */
  async updateReturning(tx: EntityManager, id: string, patch: MailboxPatch): Promise<MailboxEntity | null> {
    const { sql, values } = setClause(MAILBOX_COLUMNS, patch, 1);
    if (!sql) return this.findById(id, tx);
    const rows = await queryRows<Record<string, unknown>>(
      tx,
      `UPDATE mail_gateway.mailboxes SET ${sql}, updated_at = now() WHERE id = $1 RETURNING *`,
      [id, ...values],
    );
    return rows[0] ? hydrateRow(tx, MailboxEntity, rows[0]) : null;
  }

  async update(db: Db, id: string, patch: MailboxPatch): Promise<void> {
    const { sql, values } = setClause(MAILBOX_COLUMNS, patch, 1);
    if (!sql) return;
    await db.query(`UPDATE mail_gateway.mailboxes SET ${sql}, updated_at = now() WHERE id = $1`, [
      id,
      ...values,
    ]);
  }

  /**
   * Applies `patch` and clears the pull request if the pull served it: nobody asked again while it ran (a later
   * request has a later time; the column keeps microseconds, the value read back only milliseconds), or every request
   * pending asked for history the committed cursor `covered` reached (issue 16: pushes that came in during the pull).
   * Answers the row as it now is.
   */
  async updateServed(
    tx: EntityManager,
    id: string,
    patch: MailboxPatch,
    seen: Date | null,
    covered?: string | null,
  ): Promise<MailboxEntity | null> {
    const { sql, values } = setClause(MAILBOX_COLUMNS, patch, 3);
    const rows = await queryRows<Record<string, unknown>>(
      tx,
      `UPDATE mail_gateway.mailboxes
          SET ${sql ? `${sql}, ` : ''}
              pull_requested_at = CASE WHEN ${REQUEST_SERVED} THEN NULL ELSE pull_requested_at END,
              pull_request_history_id = CASE WHEN ${REQUEST_SERVED} THEN NULL ELSE pull_request_history_id END,
              updated_at = now()
        WHERE id = $1
       RETURNING *`,
      [id, seen, historyParam(covered), ...values],
    );
    return rows[0] ? hydrateRow(tx, MailboxEntity, rows[0]) : null;
  }

  /**
   * Asks for a pull. A notification (`notifiedAt`) also wakes a mailbox backed off after errors: the provider just
   * told us it is there, so the retry need not wait (loss path 3). A throttled mailbox keeps its Retry-After.
   * `historyId` (Gmail) is what the request asks for: at or below the committed cursor it asks for nothing (issue 16;
   * judged here, against the cursor as committed, so a pull committing meanwhile is seen); without one the pending
   * request's history is unknown. True when the mailbox has work due (a pull asked for, or not watching).
   */
  async requestPull(db: Db, id: string, notifiedAt?: Date, historyId?: string): Promise<boolean> {
    const covered = `coalesce(recovery IS NULL AND CASE WHEN history_id ~ '^[0-9]{1,40}$'
      THEN $3::numeric <= history_id::numeric END, false)`;
    const rows = await queryRows<{ due: boolean }>(
      db,
      `UPDATE mail_gateway.mailboxes
          SET pull_request_history_id = CASE
                WHEN ${covered} THEN pull_request_history_id
                WHEN $3::numeric IS NULL THEN NULL
                WHEN pull_requested_at IS NULL THEN $3::numeric::text
                WHEN pull_request_history_id IS NULL THEN NULL
                ELSE greatest(pull_request_history_id::numeric, $3::numeric)::text END,
              pull_requested_at = CASE WHEN ${covered} THEN pull_requested_at ELSE clock_timestamp() END,
              backoff_until = CASE WHEN $2::timestamptz IS NOT NULL AND stage = 'error' THEN NULL
                                   ELSE backoff_until END,
              last_notification_at = CASE WHEN $2::timestamptz IS NULL THEN last_notification_at
                                          ELSE greatest(coalesce(last_notification_at, $2), $2) END
        WHERE id = $1
       RETURNING (pull_requested_at IS NOT NULL OR stage <> 'watching') AS due`,
      [id, notifiedAt ?? null, historyParam(historyId)],
    );
    return rows[0]?.due ?? false;
  }

  /**
   * Issue 16: the success of a round that changed nothing, in one statement (no transaction): the pull times, the
   * pull request cleared as {@link updateServed} does. Only while the mailbox is still healthy; false otherwise
   * (the caller then records the success in full).
   */
  async recordQuietPull(
    id: string,
    at: Date,
    seen: Date | null,
    cursorSyncedAt: Date | null,
    covered: string | null,
  ): Promise<boolean> {
    const rows = await queryRows<{ id: string }>(
      this.dataSource,
      `UPDATE mail_gateway.mailboxes
          SET last_pull_at = $4, last_synced_at = $4, cursor_synced_at = coalesce($5, cursor_synced_at),
              pull_requested_at = CASE WHEN ${REQUEST_SERVED} THEN NULL ELSE pull_requested_at END,
              pull_request_history_id = CASE WHEN ${REQUEST_SERVED} THEN NULL ELSE pull_request_history_id END,
              updated_at = now()
        WHERE id = $1 AND stage = 'watching' AND failures = 0 AND backoff_until IS NULL
          AND last_error_code IS NULL AND recovery IS NULL
       RETURNING id`,
      [id, seen, historyParam(covered), at, cursorSyncedAt],
    );
    return rows.length > 0;
  }

  /** Applies a connection status unless a newer event already set it (events of one connection stay in order). */
  async applyConnection(tx: EntityManager, c: ConnectionChange): Promise<void> {
    await tx.query(
      `INSERT INTO mail_gateway.mailbox_connections
         (connection_id, mailbox_id, location_id, user_id, status, changed_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (connection_id) DO UPDATE SET
         mailbox_id = EXCLUDED.mailbox_id, location_id = EXCLUDED.location_id, user_id = EXCLUDED.user_id,
         status = EXCLUDED.status, changed_at = EXCLUDED.changed_at
       WHERE mailbox_connections.changed_at <= EXCLUDED.changed_at`,
      [c.connectionId, c.mailboxId, c.locationId, c.userId, c.status, c.changedAt],
    );
  }

  async connectionById(tx: EntityManager, connectionId: string): Promise<MailboxConnectionEntity | null> {
    return tx.getRepository(MailboxConnectionEntity).findOneBy({ connectionId });
  }

  connectionsOf(mailboxId: string, db?: EntityManager): Promise<MailboxConnectionEntity[]> {
    return (db ? db.getRepository(MailboxConnectionEntity) : this.connections).find({
      where: { mailboxId },
      order: { changedAt: 'DESC' },
    });
  }

  /** What the connections want of a mailbox: watched while ≥1 is active, paused while only re-auth ones remain. */
  async desiredState(tx: EntityManager, mailboxId: string): Promise<MailboxDesired> {
    const rows = await queryRows<{ status: string }>(
      tx,
      `SELECT DISTINCT status FROM mail_gateway.mailbox_connections WHERE mailbox_id = $1`,
      [mailboxId],
    );
    const statuses = new Set(rows.map((r) => r.status));
    if (statuses.has('active')) return 'active';
    if (statuses.has('reauth_required')) return 'paused';
    return 'stopped';
  }

  /** When the earliest of the mailbox's active connections became active (its event's time), if any is. */
  async activeSince(tx: EntityManager, mailboxId: string): Promise<Date | null> {
    const rows = await queryRows<{ since: Date | null }>(
      tx,
      `SELECT min(changed_at) AS since FROM mail_gateway.mailbox_connections
       WHERE mailbox_id = $1 AND status = 'active'`,
      [mailboxId],
    );
    return rows[0]?.since ?? null;
  }

  // ---- Graph folders ----

  foldersOf(mailboxId: string, db?: EntityManager): Promise<GraphFolderEntity[]> {
    return (db ? db.getRepository(GraphFolderEntity) : this.folders).find({
      where: { mailboxId },
      order: { folder: 'ASC' },
    });
  }

  folderBySubscription(subscriptionId: string): Promise<GraphFolderEntity | null> {
    return this.folders.findOneBy({ subscriptionId });
  }

  /** A followed folder, created with its baseline (`import_after`) when the mailbox starts without a cursor. */
  /** Which mailbox a Graph subscription belongs to, and the digest its notifications' clientState must match. */
  async subscriptionTargets(
    subscriptionIds: readonly string[],
  ): Promise<Map<string, { mailboxKey: string; clientStateDigest: string }>> {
    const rows = await queryRows<{
      subscription_id: string;
      mailbox_key: string;
      client_state_digest: string;
    }>(
      this.dataSource,
      `SELECT f.subscription_id, m.mailbox_key, f.client_state_digest
         FROM mail_gateway.graph_folders f JOIN mail_gateway.mailboxes m ON m.id = f.mailbox_id
        WHERE f.subscription_id = ANY($1::text[]) AND f.client_state_digest IS NOT NULL`,
      [[...subscriptionIds]],
    );
    return new Map(
      rows.map((r) => [
        r.subscription_id,
        { mailboxKey: r.mailbox_key, clientStateDigest: r.client_state_digest },
      ]),
    );
  }

  async ensureFolder(db: Db, mailboxId: string, folder: string, importAfter: Date): Promise<void> {
    await db.query(
      `INSERT INTO mail_gateway.graph_folders (mailbox_id, folder, import_after) VALUES ($1, $2, $3)
       ON CONFLICT (mailbox_id, folder) DO NOTHING`,
      [mailboxId, folder, importAfter],
    );
  }

  async updateFolder(db: Db, mailboxId: string, folder: string, patch: FolderPatch): Promise<void> {
    const { sql, values } = setClause(FOLDER_COLUMNS, patch, 2);
    if (!sql) return;
    await db.query(`UPDATE mail_gateway.graph_folders SET ${sql} WHERE mailbox_id = $1 AND folder = $2`, [
      mailboxId,
      folder,
      ...values,
    ]);
  }

  async markSubscription(
    db: Db,
    subscriptionId: string,
    action: 'renew' | 'recreate',
  ): Promise<string | null> {
    const rows = await queryRows<{ mailbox_id: string }>(
      db,
      `UPDATE mail_gateway.graph_folders SET subscription_action = $2
       WHERE subscription_id = $1 RETURNING mailbox_id`,
      [subscriptionId, action],
    );
    return rows[0]?.mailbox_id ?? null;
  }

  async deleteFolders(db: Db, mailboxId: string): Promise<void> {
    await db.query(`DELETE FROM mail_gateway.graph_folders WHERE mailbox_id = $1`, [mailboxId]);
  }

  /**
   * Mailboxes with work due now (setup, stop, pull requests, safety-net polls, renewals, resumable re-lists, and any
   * retry after a back-off: a mailbox not `watching` is always due once its back-off ends, as `dueWork` says).
   */
  async due(safetyNetSeconds: number, limit: number): Promise<string[]> {
    // Prepared (issue 16): every tick runs it, and it reads the whole table whatever the plan.
    const rows = await queryPreparedRows<{ id: string }>(
      this.dataSource,
      `SELECT id FROM mail_gateway.mailboxes
        WHERE (desired = 'stopped' AND stage <> 'stopped')
           OR (desired = 'paused' AND stage <> 'paused_auth')
           OR (desired = 'active'
               AND (backoff_until IS NULL OR backoff_until <= now())
               AND (stage IN ('starting', 'stopped', 'error', 'throttled', 'catching_up')
                    OR (stage = 'paused_auth' AND backoff_until IS NOT NULL)
                    OR pull_requested_at IS NOT NULL
                    OR recovery IS NOT NULL
                    OR watch_renew_at <= now()
                    OR greatest(coalesce(last_notification_at, '-infinity'), coalesce(last_pull_at, '-infinity'))
                       < now() - make_interval(secs => $1)))
        ORDER BY pull_requested_at NULLS LAST
        LIMIT $2`,
      [safetyNetSeconds, limit],
    );
    return rows.map((r) => r.id);
  }

  /** Every mailbox, for the health gauges. */
  all(): Promise<MailboxEntity[]> {
    return this.mailboxes.find({ order: { createdAt: 'ASC' } });
  }
}

export type { MailboxStage };
