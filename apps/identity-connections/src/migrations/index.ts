import { Connections1732500000000 } from './1732500000000-connections';

/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations = [Connections1732500000000];
