import type { EntityManager } from 'typeorm';
import { queryRows } from '@mailbridge/platform-persistence';

/** A column that holds a sealed secret, and the row id its seal is bound to. */
export interface EncryptedColumn {
  readonly table: 'connection_tokens' | 'token_revocations' | 'oauth_states';
  readonly id: string;
  readonly column: string;
}

export const ENCRYPTED_COLUMNS = [
  { table: 'connection_tokens', id: 'connection_id', column: 'secret_enc' },
  { table: 'token_revocations', id: 'connection_id', column: 'secret_enc' },
  { table: 'oauth_states', id: 'state_id', column: 'code_verifier_enc' },
] as const satisfies readonly EncryptedColumn[];

/** The SQL of key rotation (rotate-token-keys.command.ts): batches of sealed values not yet under the primary key. */
export const VaultRotationRepository = {
  /** Up to `limit` rows not sealed with `keyId` (except `skipped`), locked until the transaction ends. */
  lockBatch(
    m: EntityManager,
    col: EncryptedColumn,
    keyId: string,
    skipped: readonly string[],
    limit: number,
  ): Promise<Array<{ id: string; enc: string }>> {
    return queryRows(
      m,
      `SELECT ${col.id}::text AS id, ${col.column} AS enc FROM identity_connections.${col.table}
        WHERE key_id <> $1 AND NOT (${col.id}::text = ANY($2::text[]))
        ORDER BY ${col.id} LIMIT $3 FOR UPDATE`,
      [keyId, skipped, limit],
    );
  },

  /** Writes the re-sealed values back in one statement. */
  async write(
    m: EntityManager,
    col: EncryptedColumn,
    ids: readonly string[],
    values: readonly string[],
    keyId: string,
  ): Promise<void> {
    await m.query(
      `UPDATE identity_connections.${col.table} AS t SET ${col.column} = v.enc, key_id = $3
         FROM unnest($1::text[], $2::text[]) AS v(id, enc) WHERE t.${col.id}::text = v.id`,
      [ids, values, keyId],
    );
  },
};
