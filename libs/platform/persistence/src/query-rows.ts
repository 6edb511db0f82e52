import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { preparesStatements } from './data-source.factory';

/** Anything that runs a raw statement: an EntityManager (in a transaction) or the DataSource. */
export type Queryable = Pick<EntityManager | DataSource, 'query'>;

/**
 * Rows of a statement. TypeORM's Postgres driver answers UPDATE/DELETE with `[rows, rowCount]` and everything else
 * with the rows; this hides the difference. The one copy every repository uses.
 */
export async function queryRows<T>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  return rowsOf<T>(await db.query(sql, params));
}

/** {@link queryRows} of a hot statement, as a named prepared statement where the server allows it ({@link queryPrepared}). */
export async function queryPreparedRows<T>(
  db: EntityManager | DataSource,
  sql: string,
  params: unknown[],
): Promise<T[]> {
  return rowsOf<T>(await queryPrepared<unknown>(db, sql, params));
}

function rowsOf<T>(result: unknown): T[] {
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

const statementNames = new Map<string, string>();

/**
 * `db.query` of a hot statement of fixed text as a named prepared statement where the server allows it (issue 16):
 * each pool connection parses it once and, after PostgreSQL's first five custom plans, reuses a generic plan, instead
 * of parsing and planning it on every call (a replay of the inbox insert: 500-950 µs of backend CPU per 25-event batch
 * unnamed, 320-500 named, quiet and loaded machine). Use it only for statements of fixed text (the name is the text's
 * hash; every distinct text stays prepared on each connection) whose generic plan cannot go stale as tables grow (no
 * scan a custom plan would choose by size), and whose result columns never change type under a running process (a
 * changed result type fails a prepared statement until the connection is renewed). Unnamed on an embedded database
 * (`preparesStatements`).
 */
export async function queryPrepared<T>(
  db: EntityManager | DataSource,
  sql: string,
  params: unknown[],
): Promise<T> {
  const source = 'driver' in db ? db : db.connection;
  if (!preparesStatements(source)) return (await db.query(sql, params)) as T;
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `mb_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  // TypeORM hands its first argument to pg's `Client.query` as it is, and pg takes a query config there.
  return (await db.query({ name, text: sql } as unknown as string, params)) as T;
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

const columnLists = new WeakMap<object, string>();

/**
 * The entity whose `column` (a unique one) is `value`, or null: one statement of fixed text, hydrated as TypeORM's own
 * reads are, without its query builder (issue 16: for rows read on every message). Not prepared: a generic plan made
 * while the table was small would scan it once it has grown. The columns are named, never `*`.
 */
export async function findEntityBy<T extends object>(
  db: EntityManager | DataSource,
  entity: new () => T,
  column: string,
  value: unknown,
): Promise<T | null> {
  const metadata = ('driver' in db ? db : db.connection).getMetadata(entity);
  let columns = columnLists.get(metadata);
  if (columns === undefined) {
    columns = metadata.columns.map((c) => `"${c.databaseName}"`).join(', ');
    columnLists.set(metadata, columns);
  }
  const rows = await queryRows<Record<string, unknown>>(
    db,
    `SELECT ${columns} FROM ${metadata.tablePath} WHERE "${column}" = $1`,
    [value],
  );
  return rows[0] ? hydrateRow(db, entity, rows[0]) : null;
}
