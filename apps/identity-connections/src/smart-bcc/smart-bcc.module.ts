import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ConnectionsModule } from '../connections/connections.module';
import { InternalSmartBccController } from './internal-smart-bcc.controller';
import { SmartBccAddressEntity } from './smart-bcc-address.entity';
import { SmartBccController } from './smart-bcc.controller';
import { SmartBccService } from './smart-bcc.service';
import { SmartBccAddressesRepository } from './smart-bcc-addresses.repository';

@Module({
  imports: [TypeOrmModule.forFeature([SmartBccAddressEntity]), ConnectionsModule],
  controllers: [SmartBccController, InternalSmartBccController],
  providers: [SmartBccService, SmartBccAddressesRepository],
})
export class SmartBccModule {}
