import { createServiceDataSource, initializeServiceDataSource } from '@mailbridge/platform-persistence';
import { createTestDatabase } from '@mailbridge/testing';
import { conversationsService } from '../service';

const compressionOf = async (ds: ReturnType<typeof createServiceDataSource>) =>
  Object.fromEntries(
    (
      (await ds.query(
        `SELECT attname, attcompression FROM pg_attribute
         WHERE attrelid = 'conversations.messages'::regclass AND attname IN ('text_body', 'html_body')`,
      )) as Array<{ attname: string; attcompression: string }>
    ).map((r) => [r.attname, r.attcompression]),
  );

// Issue 16: pglz on tens of KB of bodies cost more server CPU than the rest of the row; lz4 where the server has it.
it('conversations: message bodies are lz4-compressed on a server with lz4', async () => {
  const db = await createTestDatabase('mb_lz4');
  const ds = createServiceDataSource({
    url: db.url,
    schema: conversationsService.schema,
    entities: conversationsService.entities,
    migrations: conversationsService.migrations,
    poolSize: 2,
  });
  try {
    await initializeServiceDataSource(ds, { runMigrations: true });
    // Without the migration both would be '' (the server's default_toast_compression: pglz).
    expect(await compressionOf(ds)).toEqual({ text_body: 'l', html_body: 'l' });
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await db.drop();
  }
});
