import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { ConnectionsRepository } from '../connections/connections.repository';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import { SmartBccAddressesRepository } from './smart-bcc-addresses.repository';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 128 random bits as 26 base32 characters: unguessable, and safe in a case-folding mail system. */
export function randomLocalPart(): string {
  const bytes = randomBytes(16);
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return `bcc-${out}`;
}

export interface SmartBccOwner {
  readonly locationId: string;
  readonly userId: string;
  readonly connectionId: string | null;
  readonly emailAddress: string | null;
  /** Provider of the active connection: the receiver labels smart-BCC mail with it (its attachment limits apply). */
  readonly provider: 'google' | 'microsoft' | null;
}

/** BCC-1: one stable Auto-BCC address per (location, user), created on first request. */
@Injectable()
export class SmartBccService {
  private readonly domain: string;

  constructor(
    private readonly addresses: SmartBccAddressesRepository,
    private readonly connections: ConnectionsRepository,
    @Inject(IDENTITY_CONFIG) config: IdentityConnectionsConfig,
  ) {
    this.domain = config.SMART_BCC_DOMAIN.toLowerCase();
  }

  async addressFor(locationId: string, userId: string): Promise<string> {
    // Concurrent first requests: one insert wins, everyone reads the winner.
    const row =
      (await this.addresses.findByUser(locationId, userId)) ??
      (await this.addresses.findOrCreate(locationId, userId, randomLocalPart()));
    return `${row.localPart}@${this.domain}`;
  }

  /** Whose address is this (for the SMTP receiver), with the user's active connection if any. */
  async resolve(address: string): Promise<SmartBccOwner | null> {
    const at = address.lastIndexOf('@');
    if (at <= 0) return null;
    const local = address.slice(0, at).trim().toLowerCase();
    const domain = address
      .slice(at + 1)
      .trim()
      .toLowerCase();
    if (domain !== this.domain) return null;
    const row = await this.addresses.findByLocalPart(local);
    if (!row) return null;
    const live = await this.connections.findLive(row.locationId, row.userId);
    const active = live?.status === 'active' ? live : null;
    return {
      locationId: row.locationId,
      userId: row.userId,
      connectionId: active?.connectionId ?? null,
      emailAddress: active?.emailAddress ?? null,
      provider: active?.provider ?? null,
    };
  }
}
