import { Module } from '@nestjs/common';
import { ConnectionsModule } from '../connections/connections.module';
import { ConnectionSyncExclusionsController } from './connection-sync-exclusions.controller';
import { ConnectionSyncExclusionsRepository } from './connection-sync-exclusions.repository';
import { ConnectionSyncExclusionsService } from './connection-sync-exclusions.service';

/** SYN-8: the connection's own exclusion list and its CRM routes. */
@Module({
  imports: [ConnectionsModule],
  controllers: [ConnectionSyncExclusionsController],
  providers: [ConnectionSyncExclusionsRepository, ConnectionSyncExclusionsService],
})
export class ExclusionsModule {}
