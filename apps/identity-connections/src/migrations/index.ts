/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations: Array<new () => object> = [];
