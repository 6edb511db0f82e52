import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import { mapLimit } from '../common/timing';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxAuditService } from './mailbox-audit.service';
import { MessageLedgerRepository } from '../ledger/message-ledger.repository';

const TICK_MS = 30_000;
const BATCH = 50;
/** Audits in flight per replica: they mostly wait on the provider (two list calls). */
const CONCURRENCY = 8;

/**
 * Audits every active mailbox once per AUDIT_INTERVAL_MINUTES (SYN-10), a few at a time per replica (an idle
 * mailbox's audit is two provider calls and two statements). Replicas share the work through an atomic claim per mailbox.
 */
@Injectable()
export class AuditScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ledger: MessageLedgerRepository,
    private readonly mailboxes: MailboxesRepository,
    private readonly audits: MailboxAuditService,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.AUDIT_INTERVAL_MINUTES === 0) return;
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = this.auditDue().finally(() => (this.running = undefined));
    await this.running;
  }

  /** Drains what is due, batch by batch (a claimed mailbox is no longer due), a few audits at a time. */
  private async auditDue(): Promise<void> {
    const interval = this.config.AUDIT_INTERVAL_MINUTES;
    try {
      for (;;) {
        const due = await this.ledger.dueForAudit(interval, BATCH);
        if (due.length === 0 || this.stopped) return;
        await mapLimit(due, CONCURRENCY, async (id) => {
          if (this.stopped || !(await this.ledger.claim(id, interval))) return;
          const mailbox = await this.mailboxes.findById(id);
          // One mailbox's failure (its provider, its token) is that audit's, never the round's.
          if (mailbox) {
            await this.audits.run(mailbox).catch((error: unknown) => {
              this.logger.warn({ err: error, mailboxId: id }, 'audit failed');
            });
          }
        });
      }
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error }, 'audit round failed');
    }
  }
}
