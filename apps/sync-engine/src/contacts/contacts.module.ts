import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ContactProjectionEntity } from './contact-projection.entity';
import { ContactProjectionRepository } from './contact-projection.repository';
import { ContactsConsumer } from './contacts.consumer';
import { InternalContactsController } from './internal-contacts.controller';

@Module({
  imports: [TypeOrmModule.forFeature([ContactProjectionEntity])],
  controllers: [InternalContactsController],
  providers: [ContactProjectionRepository, ContactsConsumer],
  exports: [ContactProjectionRepository],
})
export class ContactsModule {}
