import { Injectable } from '@nestjs/common';
import {
  decideSyncExclusion,
  headerBlockOf,
  messagePartiesFromHead,
  type SyncExclusionVerdict,
} from '@mailbridge/domain-mail';
import { SyncExclusionsRepository, type ConnectionExclusions } from './sync-exclusions.repository';

/** SYN-8's verdict on one message's header block, against lists read once for a whole page. */
export type ExclusionCheck = (head: Buffer) => Promise<SyncExclusionVerdict | null>;

/**
 * SYN-8, the step before storing: a message is refused when every live connection of its mailbox excludes it (one
 * mailbox can serve several locations; while one of them still wants the message it is stored and sync-engine
 * decides per location as usual). Reads only the header block.
 */
@Injectable()
export class SyncExclusionScreen {
  constructor(private readonly lists: SyncExclusionsRepository) {}

  /**
   * A check that reads the mailbox's lists on first use and keeps them for its later calls (issue 16: one query per
   * pulled page, not per message). Made per page, so a changed list applies from the next page on.
   */
  forMailbox(mailboxKey: string, ownerAddress: string): ExclusionCheck {
    let lists: Promise<ConnectionExclusions[]> | undefined;
    return async (head) => {
      if (!lists) {
        const loading = this.lists.forMailbox(mailboxKey);
        // A failed read is not kept: the next message of the page asks again.
        loading.catch(() => {
          if (lists === loading) lists = undefined;
        });
        lists = loading;
      }
      return verdictOf(await lists, ownerAddress, head);
    };
  }
}

/** Excluded only when every live connection excludes it; the first connection's verdict is the one reported. */
function verdictOf(
  connections: readonly ConnectionExclusions[],
  ownerAddress: string,
  head: Buffer,
): SyncExclusionVerdict | null {
  if (connections.length === 0 || connections.every((c) => !c.location && !c.connection)) return null;
  // Only the header block is decoded (issue 16): the head may be 256 KB of attachment.
  const parties = messagePartiesFromHead(headerBlockOf(head).toString('utf8'));
  let first: SyncExclusionVerdict | null = null;
  for (const c of connections) {
    const verdict = decideSyncExclusion({
      parties,
      ownerAddress,
      locationUserAddresses: c.locationUserAddresses,
      location: c.location,
      connection: c.connection,
    });
    if (!verdict) return null;
    first ??= verdict;
  }
  return first;
}
