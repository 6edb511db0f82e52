import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MailboxProcessor } from './mailbox-processor.service';
import { SyncHealthService } from '../mailboxes/sync-health.service';

const GAUGE_REFRESH_MS = 15_000;

/**
 * Runs mailbox work in this replica: at once when nudged (a notification, a connection change), and on every tick
 * for whatever the database says is due (safety-net polls, renewals, retries after backoff, resumable re-lists).
 * At most PULL_CONCURRENCY mailboxes at a time, one worker per mailbox: a throttled mailbox never holds up others.
 * Nudged mailboxes go first (issue 16): with thousands of idle mailboxes the ticks always find safety-net polls and
 * renewals due, and new mail must not wait behind them.
 */
@Injectable()
export class SyncScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Asked for now (a notification, a connection change): served before `queued`. */
  private readonly nudged = new Set<string>();
  /** Found due by a tick (safety-net polls, renewals, retries). */
  private readonly queued = new Set<string>();
  private readonly running = new Map<string, Promise<void>>();
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private stopped = false;
  private lastGauges = 0;

  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly processor: MailboxProcessor,
    private readonly health: SyncHealthService,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.SCHEDULER_TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.nudged.clear();
    this.queued.clear();
    await Promise.allSettled([...this.running.values()]);
  }

  nudge(mailboxId: string): void {
    if (this.stopped) return;
    this.nudged.add(mailboxId);
    this.drain();
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const due = await this.mailboxes.due(
        this.config.SAFETY_NET_POLL_SECONDS,
        this.config.PULL_CONCURRENCY * 4,
      );
      for (const id of due) this.queued.add(id);
      this.drain();
      if (Date.now() - this.lastGauges > GAUGE_REFRESH_MS) {
        this.lastGauges = Date.now();
        await this.health.refreshGauges();
      }
    } catch (error) {
      if (!this.stopped) this.logger.warn({ err: error }, 'scheduler tick failed');
    } finally {
      this.ticking = false;
    }
  }

  private drain(): void {
    for (const id of [...this.nudged, ...this.queued]) {
      if (this.running.size >= this.config.PULL_CONCURRENCY) return;
      if (this.running.has(id)) continue;
      this.nudged.delete(id);
      this.queued.delete(id);
      const run = this.processor
        .process(id)
        .then(() => undefined)
        .catch((error: unknown) => {
          if (!this.stopped) this.logger.error({ err: error, mailboxId: id }, 'mailbox processing failed');
        })
        .finally(() => {
          this.running.delete(id);
          this.drain();
        });
      this.running.set(id, run);
    }
  }
}
