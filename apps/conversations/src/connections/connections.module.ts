import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectionEntity } from './connection.entity';
import { ConnectionsConsumer } from './connections.consumer';
import { ConnectionsRepository } from './connections.repository';

@Module({
  imports: [TypeOrmModule.forFeature([ConnectionEntity])],
  providers: [ConnectionsRepository, ConnectionsConsumer],
  exports: [ConnectionsRepository],
})
export class ConnectionsModule {}
