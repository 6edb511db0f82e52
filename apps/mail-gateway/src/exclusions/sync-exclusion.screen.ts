import { Injectable } from '@nestjs/common';
import {
  decideSyncExclusion,
  messagePartiesFromHead,
  type SyncExclusionVerdict,
} from '@mailbridge/domain-mail';
import { SyncExclusionsRepository } from './sync-exclusions.repository';

/**
 * SYN-8, the step before storing: a message is refused when every live connection of its mailbox excludes it (one
 * mailbox can serve several locations; while one of them still wants the message it is stored and sync-engine
 * decides per location as usual). Reads only the header block.
 */
@Injectable()
export class SyncExclusionScreen {
  constructor(private readonly lists: SyncExclusionsRepository) {}

  async screen(mailboxKey: string, ownerAddress: string, head: Buffer): Promise<SyncExclusionVerdict | null> {
    const connections = await this.lists.forMailbox(mailboxKey);
    if (connections.length === 0 || connections.every((c) => !c.location && !c.connection)) return null;
    const parties = messagePartiesFromHead(head.toString('utf8'));
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
}
