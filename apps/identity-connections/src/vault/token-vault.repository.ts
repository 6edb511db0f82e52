import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { ConnectionTokenEntity } from './connection-token.entity';
import type { Sealed } from './token-cipher';
import { TokenRevocationEntity } from './token-revocation.entity';
import { queryRows } from '@mailbridge/platform-persistence';

const TOKENS = 'identity_connections.connection_tokens';
const REVOCATIONS = 'identity_connections.token_revocations';
const CONNECTIONS = 'identity_connections.connections';

/** The encrypted rows; this class never sees a token in clear (TokenVault does the crypto). */
@Injectable()
export class TokenVaultRepository {
  constructor(
    @InjectRepository(ConnectionTokenEntity) private readonly tokens: Repository<ConnectionTokenEntity>,
  ) {}

  get(connectionId: string): Promise<ConnectionTokenEntity | null> {
    return this.tokens.findOneBy({ connectionId });
  }

  async put(
    tx: EntityManager,
    connectionId: string,
    sealed: Sealed,
    accessExpiresAt: Date,
    refreshedAt: Date,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO ${TOKENS} (connection_id, key_id, secret_enc, access_expires_at, refreshed_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (connection_id) DO UPDATE
         SET key_id = EXCLUDED.key_id, secret_enc = EXCLUDED.secret_enc,
             access_expires_at = EXCLUDED.access_expires_at, refreshed_at = EXCLUDED.refreshed_at`,
      [connectionId, sealed.keyId, sealed.value, accessExpiresAt, refreshedAt],
    );
  }

  /** Stores a refresh result only while the connection is still active (a disconnect may have happened meanwhile). */
  async putIfActive(
    connectionId: string,
    sealed: Sealed,
    accessExpiresAt: Date,
    refreshedAt: Date,
  ): Promise<boolean> {
    const rows = await queryRows<{ connection_id: string }>(
      this.tokens.manager,
      `UPDATE ${TOKENS} AS t
          SET key_id = $2, secret_enc = $3, access_expires_at = $4, refreshed_at = $5
         FROM ${CONNECTIONS} AS c
        WHERE t.connection_id = $1 AND c.connection_id = t.connection_id AND c.status = 'active'
        RETURNING t.connection_id`,
      [connectionId, sealed.keyId, sealed.value, accessExpiresAt, refreshedAt],
    );
    return rows.length > 0;
  }

  /** The connection ended: its grant leaves the vault and waits in the revocation queue until the provider confirms. */
  async moveToRevocation(
    tx: EntityManager,
    connection: { connectionId: string; provider: string; mailboxKey: string },
    now: Date,
  ): Promise<boolean> {
    const moved = await queryRows<{ connection_id: string }>(
      tx,
      `INSERT INTO ${REVOCATIONS}
              (connection_id, provider, mailbox_key, key_id, secret_enc, attempts, next_attempt_at, created_at)
       SELECT connection_id, $2, $3, key_id, secret_enc, 0, $4, $4 FROM ${TOKENS} WHERE connection_id = $1
       ON CONFLICT (connection_id) DO NOTHING
       RETURNING connection_id`,
      [connection.connectionId, connection.provider, connection.mailboxKey, now],
    );
    await tx.query(`DELETE FROM ${TOKENS} WHERE connection_id = $1`, [connection.connectionId]);
    return moved.length > 0;
  }

  /**
   * Claims due revocations (all due ones, or one connection's): pushing `next_attempt_at` out is the lease, so two
   * replicas never revoke the same grant at once, and a crash leaves the row for a later attempt.
   */
  async claimRevocations(
    now: Date,
    leaseUntil: Date,
    limit: number,
    connectionId?: string,
  ): Promise<TokenRevocationEntity[]> {
    const rows = await queryRows<Record<string, unknown>>(
      this.tokens.manager,
      `UPDATE ${REVOCATIONS} SET attempts = attempts + 1, next_attempt_at = $2
        WHERE connection_id IN (
          SELECT connection_id FROM ${REVOCATIONS}
           WHERE next_attempt_at <= $1 AND ($4::uuid IS NULL OR connection_id = $4)
           ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [now, leaseUntil, limit, connectionId ?? null],
    );
    return rows.map((r) => ({
      connectionId: r.connection_id as string,
      provider: r.provider as TokenRevocationEntity['provider'],
      mailboxKey: r.mailbox_key as string,
      keyId: r.key_id as string,
      secretEnc: r.secret_enc as string,
      attempts: Number(r.attempts),
      nextAttemptAt: r.next_attempt_at as Date,
      lastError: (r.last_error as string | null) ?? null,
      createdAt: r.created_at as Date,
    }));
  }

  async completeRevocation(connectionId: string): Promise<void> {
    await this.tokens.manager.query(`DELETE FROM ${REVOCATIONS} WHERE connection_id = $1`, [connectionId]);
  }

  async failRevocation(connectionId: string, error: string, retryAt: Date): Promise<void> {
    await this.tokens.manager.query(
      `UPDATE ${REVOCATIONS} SET last_error = $2, next_attempt_at = $3 WHERE connection_id = $1`,
      [connectionId, error, retryAt],
    );
  }
}
