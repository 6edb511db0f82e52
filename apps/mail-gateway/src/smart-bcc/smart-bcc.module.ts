import { Module } from '@nestjs/common';
import { MailboxSyncModule } from '../mailbox-sync.module';
import { ReceiveSmartBccMailUseCase } from './receive-smart-bcc-mail.use-case';
import { SmartBccDirectory } from './smart-bcc-directory';
import { SmtpReceiver } from './smtp-receiver.service';

/** Auto-BCC (BCC-1): the SMTP receiver of smart-BCC mail. */
@Module({
  imports: [MailboxSyncModule],
  providers: [SmartBccDirectory, ReceiveSmartBccMailUseCase, SmtpReceiver],
  exports: [SmtpReceiver],
})
export class SmartBccModule {}
