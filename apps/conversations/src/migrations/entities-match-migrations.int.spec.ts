import { schemaDriftOf } from '@mailbridge/testing-services';
import { conversationsService } from '../service';

// The entities are what the code reads and writes; the migrations are what the database has. They must not drift.
it('conversations: its entities match what its migrations build (tables, columns, types, nullability)', async () => {
  expect(await schemaDriftOf(conversationsService)).toEqual([]);
});
