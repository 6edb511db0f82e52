import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { SyncEventEntity } from './sync-event.entity';
import { SyncEventsConsumer } from './sync-events.consumer';
import { SyncEventsController } from './sync-events.controller';
import { SyncEventsRepository } from './sync-events.repository';
import { SyncEventsService } from './sync-events.service';

@Module({
  imports: [TypeOrmModule.forFeature([SyncEventEntity])],
  controllers: [SyncEventsController],
  providers: [SyncEventsRepository, SyncEventsService, SyncEventsConsumer],
  exports: [SyncEventsService],
})
export class SyncEventsModule {}
