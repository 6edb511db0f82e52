import { ContactProjection1732400200000 } from './1732400200000-contact-projection';

/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations = [ContactProjection1732400200000];
