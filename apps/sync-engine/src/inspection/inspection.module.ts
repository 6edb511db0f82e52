import { Module } from '@nestjs/common';
import { InboundModule } from '../inbound/inbound.module';
import { SendingModule } from '../sending/sending.module';
import { ThreadsModule } from '../threads/threads.module';
import { InternalDecisionsController } from './internal-decisions.controller';

/** Read-only explainability: decisions and bindings. */
@Module({
  imports: [InboundModule, SendingModule, ThreadsModule],
  controllers: [InternalDecisionsController],
})
export class InspectionModule {}
