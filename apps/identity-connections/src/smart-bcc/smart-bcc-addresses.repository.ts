import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { SmartBccAddressEntity } from './smart-bcc-address.entity';

/** The Auto-BCC addresses (BCC-1): one per (location, user). */
@Injectable()
export class SmartBccAddressesRepository {
  constructor(
    @InjectRepository(SmartBccAddressEntity) private readonly repo: Repository<SmartBccAddressEntity>,
  ) {}

  findByUser(locationId: string, userId: string): Promise<SmartBccAddressEntity | null> {
    return this.repo.findOneBy({ locationId, userId });
  }

  findByLocalPart(localPart: string): Promise<SmartBccAddressEntity | null> {
    return this.repo.findOneBy({ localPart });
  }

  /** The user's address, creating it with `localPart` unless a concurrent first request already did (its wins). */
  async findOrCreate(locationId: string, userId: string, localPart: string): Promise<SmartBccAddressEntity> {
    await this.repo.manager.query(
      `INSERT INTO identity_connections.smart_bcc_addresses (location_id, user_id, local_part, created_at)
       VALUES ($1, $2, $3, now()) ON CONFLICT (location_id, user_id) DO NOTHING`,
      [locationId, userId, localPart],
    );
    return this.repo.findOneByOrFail({ locationId, userId });
  }
}
