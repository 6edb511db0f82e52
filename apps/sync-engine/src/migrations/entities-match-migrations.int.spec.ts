import { schemaDriftOf } from '@mailbridge/testing-services';
import { syncEngineService } from '../service';

// The entities are what the code reads and writes; the migrations are what the database has. They must not drift.
it('sync-engine: its entities match what its migrations build (tables, columns, types, nullability)', async () => {
  expect(await schemaDriftOf(syncEngineService)).toEqual([]);
});
