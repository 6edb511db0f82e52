import type { SyncExclusionVerdict } from '@mailbridge/domain-mail';

/**
 * SYN-8: thrown by the normaliser *before* anything of the message is stored. Not a failure: the pull records the
 * message's outcome (`not_synced`, `excluded`) in the ledger and moves on (MessageIsolation).
 */
export class MessageExcludedError extends Error {
  override readonly name = 'MessageExcludedError';
  constructor(readonly verdict: SyncExclusionVerdict) {
    super(`excluded by the ${verdict.scope} list (SYN-8, ${verdict.reason})`);
  }
}
