import type { DataSource, EntityManager } from 'typeorm';

/** Anything that runs a raw statement: an EntityManager (in a transaction) or the DataSource. */
export type Queryable = Pick<EntityManager | DataSource, 'query'>;

/**
 * Rows of a statement. TypeORM's Postgres driver answers UPDATE/DELETE with `[rows, rowCount]` and everything else
 * with the rows; this hides the difference. The one copy every repository uses.
 */
export async function queryRows<T>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  const result: unknown = await db.query(sql, params);
  if (
    Array.isArray(result) &&
    result.length === 2 &&
    Array.isArray(result[0]) &&
    typeof result[1] === 'number'
  ) {
    return result[0] as T[];
  }
  return result as T[];
}

/** Postgres unique violation (e.g. a second live connection for one (location, user)). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: unknown; driverError?: { code?: unknown } };
  return e?.code === '23505' || e?.driverError?.code === '23505';
}

/**
 * An entity from a raw row (`RETURNING *`), converted column by column as TypeORM's own reads do: one
 * `UPDATE … RETURNING` instead of an UPDATE and a SELECT of the same row (issue 16).
 */
export function hydrateRow<T extends object>(
  db: EntityManager | DataSource,
  entity: new () => T,
  raw: Record<string, unknown>,
): T {
  const source = 'driver' in db ? db : db.connection;
  const metadata = source.getMetadata(entity);
  const out = metadata.create() as Record<string, unknown>;
  for (const column of metadata.columns) {
    if (!(column.databaseName in raw)) continue;
    out[column.propertyName] = source.driver.prepareHydratedValue(raw[column.databaseName], column);
  }
  return out as T;
}
