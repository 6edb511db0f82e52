import { MailboxesAndSends1732500000000 } from './1732500000000-mailboxes-and-sends';
import { ObservedMessagesRetention1732500100000 } from './1732500100000-observed-messages-retention';
import { MessageQuarantine1732500200000 } from './1732500200000-message-quarantine';
import { CompletenessAudit1732500300000 } from './1732500300000-completeness-audit';
import { SyncExclusions1732500400000 } from './1732500400000-sync-exclusions';
import { WatchRenewalFailures1732500420000 } from './1732500420000-watch-renewal-failures';
import { MessageStates1732500470000 } from './1732500470000-message-states';
import { PullRequestHistory1732500480000 } from './1732500480000-pull-request-history';

/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations = [
  MailboxesAndSends1732500000000,
  ObservedMessagesRetention1732500100000,
  MessageQuarantine1732500200000,
  CompletenessAudit1732500300000,
  SyncExclusions1732500400000,
  WatchRenewalFailures1732500420000,
  MessageStates1732500470000,
  PullRequestHistory1732500480000,
];
