import { Contacts1732400100000 } from './1732400100000-contacts';
import { ConversationsMessages1732400200000 } from './1732400200000-conversations-messages';
import { MessageSortKey1732400300000 } from './1732400300000-message-sort-key';
import { RetentionIndexes1732400400000 } from './1732400400000-retention-indexes';
import { RateLimitBuckets1732400500000 } from './1732400500000-rate-limit-buckets';
import { MessageIdNotUnique1732400600000 } from './1732400600000-message-id-not-unique';
import { MessageClassification1732400750000 } from './1732400750000-message-classification';
import { LocationSyncExclusions1732400760000 } from './1732400760000-location-sync-exclusions';
import { MessageMailboxState1732400770000 } from './1732400770000-message-mailbox-state';
import { CrmSendsByConversation1732400780000 } from './1732400780000-crm-sends-by-conversation';
import { MessageBodiesLz41732400790000 } from './1732400790000-message-bodies-lz4';

/** Oldest first. Add a migration: a new file `<timestamp>-<what>.ts` here, appended to this list. */
export const migrations = [
  Contacts1732400100000,
  ConversationsMessages1732400200000,
  MessageSortKey1732400300000,
  RetentionIndexes1732400400000,
  RateLimitBuckets1732400500000,
  MessageIdNotUnique1732400600000,
  MessageClassification1732400750000,
  LocationSyncExclusions1732400760000,
  MessageMailboxState1732400770000,
  CrmSendsByConversation1732400780000,
  MessageBodiesLz41732400790000,
];
