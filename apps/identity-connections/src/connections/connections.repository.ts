import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { ConnectionEntity, LIVE_STATUSES, SyncErrorInfo } from './connection.entity';
import type { AuditReportInfo } from './connection.entity';
import { hydrateRow, queryRows } from '@mailbridge/platform-persistence';
import type { SendAsAddress } from '@mailbridge/domain-mail';

export interface HealthUpdate {
  readonly connectionId: string;
  readonly locationId: string;
  readonly stage: string;
  readonly lastSyncedAt: Date | null;
  readonly lastError: SyncErrorInfo | null;
  readonly observedAt: Date;
  /** CON-7: absent when the report carries no watch (older producers): what is stored stays. */
  readonly watch?: { readonly expiresAt: Date | null; readonly renewalFailures: number };
}

const T = 'identity_connections.connections';

/**
 * Connections. Reads on behalf of the CRM are scoped by (location, user); the only unscoped reads are the internal
 * ones by connection id or mailbox key, which other services address by those global ids.
 */
@Injectable()
export class ConnectionsRepository {
  constructor(@InjectRepository(ConnectionEntity) private readonly repo: Repository<ConnectionEntity>) {}

  /** Outside a unit of work (a single statement). */
  get manager(): EntityManager {
    return this.repo.manager;
  }

  /** The current (active or reauth_required) connection, row-locked when inside a unit of work. */
  findLive(locationId: string, userId: string, tx?: EntityManager): Promise<ConnectionEntity | null> {
    const where = { locationId, userId, status: In([...LIVE_STATUSES]) };
    return tx
      ? tx.getRepository(ConnectionEntity).findOne({ where, lock: { mode: 'pessimistic_write' } })
      : this.repo.findOne({ where });
  }

  /** CON-2: the current connection, else the most recent ended one (so a disconnect stays visible). */
  findLatest(locationId: string, userId: string): Promise<ConnectionEntity | null> {
    return this.repo
      .createQueryBuilder('c')
      .where('c.location_id = :locationId AND c.user_id = :userId', { locationId, userId })
      .orderBy(`CASE WHEN c.status IN ('active', 'reauth_required') THEN 0 ELSE 1 END`, 'ASC')
      .addOrderBy('c.connected_at', 'DESC')
      .limit(1)
      .getOne();
  }

  findById(connectionId: string, tx?: EntityManager): Promise<ConnectionEntity | null> {
    return (tx ? tx.getRepository(ConnectionEntity) : this.repo).findOneBy({ connectionId });
  }

  findByMailboxKey(mailboxKey: string, limit: number): Promise<ConnectionEntity[]> {
    return this.repo.find({ where: { mailboxKey }, order: { connectedAt: 'DESC' }, take: limit });
  }

  /** Every connection of one user in one location, newest first. */
  findForUser(locationId: string, userId: string, limit: number): Promise<ConnectionEntity[]> {
    return this.repo.find({ where: { locationId, userId }, order: { connectedAt: 'DESC' }, take: limit });
  }

  /** Another user of the same location already holds this mailbox (it would sync twice). */
  async heldByAnotherUser(
    tx: EntityManager,
    locationId: string,
    userId: string,
    mailboxKey: string,
  ): Promise<boolean> {
    const rows = await queryRows<{ one: number }>(
      tx,
      `SELECT 1 AS one FROM ${T}
        WHERE location_id = $1 AND mailbox_key = $2 AND user_id <> $3 AND status IN ('active', 'reauth_required')
        LIMIT 1`,
      [locationId, mailboxKey, userId],
    );
    return rows.length > 0;
  }

  /** Active connections (other than `exceptId`) that share this provider account's grant. */
  async countActiveForMailbox(mailboxKey: string, exceptId: string): Promise<number> {
    const rows = await queryRows<{ n: string }>(
      this.repo.manager,
      `SELECT count(*) AS n FROM ${T} WHERE mailbox_key = $1 AND status = 'active' AND connection_id <> $2`,
      [mailboxKey, exceptId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  insert(tx: EntityManager, connection: ConnectionEntity): Promise<unknown> {
    return tx.getRepository(ConnectionEntity).insert(connection);
  }

  save(tx: EntityManager, connection: ConnectionEntity): Promise<ConnectionEntity> {
    return tx.getRepository(ConnectionEntity).save(connection);
  }

  /** SND-7: the send-as addresses as just read from the provider. */
  async storeSendAs(connectionId: string, addresses: readonly SendAsAddress[], at: Date): Promise<void> {
    await queryRows(
      this.repo.manager,
      `UPDATE ${T} SET send_as = $2::jsonb, send_as_read_at = $3 WHERE connection_id = $1`,
      [connectionId, JSON.stringify(addresses), at],
    );
  }

  /** active → reauth_required, once: returns the row only if this call made the change. */
  async markReauthRequired(
    tx: EntityManager,
    connectionId: string,
    reason: string,
    at: Date,
  ): Promise<ConnectionEntity | null> {
    const rows = await queryRows<{ connection_id: string }>(
      tx,
      `UPDATE ${T} SET status = 'reauth_required', reauth_reason = $2, reauth_at = $3, updated_at = $3
        WHERE connection_id = $1 AND status = 'active' RETURNING connection_id`,
      [connectionId, reason, at],
    );
    return rows.length ? this.findById(connectionId, tx) : null;
  }

  /** One statement for a whole mailbox's connections; a report older than what is stored changes nothing. */
  /** SYN-10: the latest audit report of each connection's mailbox; an older report never replaces a newer one. */
  async applyAudit(
    tx: EntityManager,
    updates: ReadonlyArray<{ connectionId: string; locationId: string; report: AuditReportInfo }>,
  ): Promise<number> {
    if (updates.length === 0) return 0;
    const rows = await queryRows<{ connection_id: string }>(
      tx,
      `UPDATE ${T} AS c SET last_audit_at = u.checked_at, audit_report = u.report
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::jsonb[])
              AS u(connection_id, location_id, checked_at, report)
        WHERE c.connection_id = u.connection_id AND c.location_id = u.location_id
          AND (c.last_audit_at IS NULL OR c.last_audit_at <= u.checked_at)
        RETURNING c.connection_id`,
      [
        updates.map((u) => u.connectionId),
        updates.map((u) => u.locationId),
        updates.map((u) => u.report.checkedAt),
        updates.map((u) => JSON.stringify(u.report)),
      ],
    );
    return rows.length;
  }

  /** Answers the connections it changed, as written (issue 16: CON-7 reads them no more). */
  async applyHealth(tx: EntityManager, updates: readonly HealthUpdate[]): Promise<ConnectionEntity[]> {
    if (updates.length === 0) return [];
    const rows = await queryRows<Record<string, unknown>>(
      tx,
      `UPDATE ${T} AS c
          SET sync_stage = u.stage, last_synced_at = u.last_synced_at, last_error = u.last_error,
              health_at = u.observed_at,
              renewal_failures = COALESCE(u.renewal_failures, c.renewal_failures),
              watch_expires_at = CASE WHEN u.renewal_failures IS NULL THEN c.watch_expires_at ELSE u.watch_expires_at END
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[], $6::timestamptz[],
                     $7::int[], $8::timestamptz[])
              AS u(connection_id, location_id, stage, last_synced_at, last_error, observed_at, renewal_failures,
                   watch_expires_at)
        WHERE c.connection_id = u.connection_id AND c.location_id = u.location_id
          AND (c.health_at IS NULL OR c.health_at <= u.observed_at)
        RETURNING c.*`,
      [
        updates.map((u) => u.connectionId),
        updates.map((u) => u.locationId),
        updates.map((u) => u.stage),
        updates.map((u) => u.lastSyncedAt),
        updates.map((u) => (u.lastError ? JSON.stringify(u.lastError) : null)),
        updates.map((u) => u.observedAt),
        updates.map((u) => u.watch?.renewalFailures ?? null),
        updates.map((u) => u.watch?.expiresAt ?? null),
      ],
    );
    return rows.map((r) => hydrateRow(tx, ConnectionEntity, r));
  }
}
