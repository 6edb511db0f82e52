import { Inject, Injectable } from '@nestjs/common';
import { syncExclusionsChangedV1 } from '@mailbridge/contracts';
import { normalizeAddress, normalizeExclusionDomain } from '@mailbridge/domain-mail';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import {
  LocationSyncExclusionsRepository,
  type LocationSyncExclusions,
} from './location-sync-exclusions.repository';

const unique = (values: readonly string[]) => [...new Set(values)].sort();

/**
 * SYN-8: the location's exclusion list. A PUT replaces it whole and, when it changed, publishes
 * `sync-exclusions.changed` in the same transaction; mail-gateway applies it to mail it reads from then on (mail
 * already synced stays).
 */
@Injectable()
export class LocationSyncExclusionsService {
  constructor(
    private readonly lists: LocationSyncExclusionsRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  get(locationId: string): Promise<LocationSyncExclusions> {
    return this.lists.get(locationId);
  }

  async put(
    locationId: string,
    input: { addresses: string[]; domains: string[]; betweenLocationUsers?: boolean },
  ): Promise<LocationSyncExclusions> {
    const wanted = {
      addresses: unique(input.addresses.map(normalizeAddress)),
      domains: unique(input.domains.map(normalizeExclusionDomain)),
      betweenLocationUsers: input.betweenLocationUsers ?? false,
    };
    return this.uow.run(async (tx) => {
      const current = await this.lists.lock(tx.manager, locationId);
      if (
        current.revision > 0 &&
        JSON.stringify([current.addresses, current.domains, current.betweenLocationUsers]) ===
          JSON.stringify([wanted.addresses, wanted.domains, wanted.betweenLocationUsers])
      )
        return current;
      const updatedAt = new Date();
      const next: LocationSyncExclusions = { ...wanted, revision: current.revision + 1, updatedAt };
      await this.lists.save(tx.manager, locationId, next);
      tx.emit(syncExclusionsChangedV1, {
        locationId,
        scope: 'location',
        connectionId: null,
        userId: null,
        addresses: next.addresses,
        domains: next.domains,
        betweenLocationUsers: next.betweenLocationUsers,
        revision: next.revision,
        changedAt: updatedAt.toISOString(),
      });
      return next;
    });
  }
}
