import { Inject, Injectable } from '@nestjs/common';
import { connectionSyncExclusionsChangedV1 } from '@mailbridge/contracts';
import { normalizeAddress, normalizeExclusionDomain } from '@mailbridge/domain-mail';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { AppError, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { ConnectionsRepository } from '../connections/connections.repository';
import type { ConnectionEntity } from '../connections/connection.entity';
import {
  ConnectionSyncExclusionsRepository,
  type ConnectionSyncExclusions,
} from './connection-sync-exclusions.repository';

const unique = (values: readonly string[]) => [...new Set(values)].sort();
const LIVE = new Set(['active', 'reauth_required']);

/**
 * SYN-8: the exclusion list of the user's current connection. A PUT replaces it whole and, when it changed,
 * publishes `sync-exclusions.changed` in the same transaction; mail-gateway applies it to mail it reads from then on.
 * A new connection (update email, reconnect) starts with an empty list of its own.
 */
@Injectable()
export class ConnectionSyncExclusionsService {
  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly lists: ConnectionSyncExclusionsRepository,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
  ) {}

  private async live(locationId: string, userId: string): Promise<ConnectionEntity> {
    const connection = await this.connections.findLatest(locationId, userId);
    if (!connection || !LIVE.has(connection.status))
      throw new AppError('not_found', 'connection_not_found', 'There is no live email connection');
    return connection;
  }

  async get(locationId: string, userId: string): Promise<ConnectionSyncExclusions> {
    return this.lists.get((await this.live(locationId, userId)).connectionId);
  }

  async put(
    locationId: string,
    userId: string,
    input: { addresses: string[]; domains: string[] },
  ): Promise<ConnectionSyncExclusions> {
    const connection = await this.live(locationId, userId);
    const wanted = {
      addresses: unique(input.addresses.map(normalizeAddress)),
      domains: unique(input.domains.map(normalizeExclusionDomain)),
    };
    return this.uow.run(async (tx) => {
      const current = await this.lists.get(connection.connectionId, tx.manager);
      if (
        current.revision > 0 &&
        JSON.stringify([current.addresses, current.domains]) ===
          JSON.stringify([wanted.addresses, wanted.domains])
      )
        return current;
      const updatedAt = new Date();
      const next: ConnectionSyncExclusions = { ...wanted, revision: current.revision + 1, updatedAt };
      await this.lists.save(tx.manager, connection, next);
      tx.emit(connectionSyncExclusionsChangedV1, {
        locationId,
        scope: 'connection',
        connectionId: connection.connectionId,
        userId,
        addresses: next.addresses,
        domains: next.domains,
        betweenLocationUsers: false,
        revision: next.revision,
        changedAt: updatedAt.toISOString(),
      });
      return next;
    });
  }
}
