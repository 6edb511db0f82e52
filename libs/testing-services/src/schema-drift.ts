import type { ServiceDefinition } from '@mailbridge/platform-runtime';
import { createServiceDataSource, initializeServiceDataSource } from '@mailbridge/platform-persistence';
import { createTestDatabase } from '@mailbridge/testing';

/**
 * What the migrations may have that entities do not declare: indexes, foreign keys, CHECK and UNIQUE constraints and
 * column defaults are the database's business (TypeORM would drop them to match bare entities). Everything else —
 * a table, a column, its type or its nullability — must agree.
 */
const DECLARED_BY_MIGRATIONS_ONLY = [
  /^DROP INDEX /,
  / DROP CONSTRAINT "[^"]+"$/,
  / ALTER COLUMN "[^"]+" DROP DEFAULT$/,
];

/**
 * Runs a service's migrations on a fresh database, then asks TypeORM what it would change to make the schema match the
 * service's entities. Empty means the entities describe exactly what the migrations built (the code reads and writes
 * the columns the database has). Returns the statements TypeORM would run.
 */
export async function schemaDriftOf(service: ServiceDefinition): Promise<string[]> {
  const db = await createTestDatabase('mb_drift');
  const dataSource = createServiceDataSource({
    url: db.url,
    schema: service.schema,
    entities: service.entities,
    migrations: service.migrations,
    poolSize: 2,
  });
  try {
    await initializeServiceDataSource(dataSource, { runMigrations: true });
    const sql = await dataSource.driver.createSchemaBuilder().log();
    return sql.upQueries
      .map((q) => q.query)
      .filter((query) => !DECLARED_BY_MIGRATIONS_ONLY.some((pattern) => pattern.test(query)));
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.drop();
  }
}
