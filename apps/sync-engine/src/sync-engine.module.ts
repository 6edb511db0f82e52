import { Module } from '@nestjs/common';
import { SyncEngineConfigModule } from './config/sync-engine-config.module';
import { ConnectionsModule } from './connections/connections.module';
import { ContactsModule } from './contacts/contacts.module';
import { InboundModule } from './inbound/inbound.module';
import { InspectionModule } from './inspection/inspection.module';
import { SendingModule } from './sending/sending.module';
import { ThreadsModule } from './threads/threads.module';

@Module({
  imports: [
    SyncEngineConfigModule,
    ContactsModule,
    ConnectionsModule,
    ThreadsModule,
    InboundModule,
    SendingModule,
    InspectionModule,
  ],
})
export class SyncEngineModule {}
