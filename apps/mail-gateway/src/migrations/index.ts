import { MailboxesAndSends1732500000000 } from './1732500000000-mailboxes-and-sends';

/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations = [MailboxesAndSends1732500000000];
