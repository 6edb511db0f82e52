import { Module } from '@nestjs/common';
import { LocationSyncExclusionsController } from './location-sync-exclusions.controller';
import { LocationSyncExclusionsRepository } from './location-sync-exclusions.repository';
import { LocationSyncExclusionsService } from './location-sync-exclusions.service';

/** SYN-8: the location's exclusion list and its CRM routes. */
@Module({
  controllers: [LocationSyncExclusionsController],
  providers: [LocationSyncExclusionsRepository, LocationSyncExclusionsService],
})
export class ExclusionsModule {}
