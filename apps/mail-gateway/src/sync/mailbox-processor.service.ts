import { Inject, Injectable } from '@nestjs/common';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GatewayMetrics } from '../common/gateway.metrics';
import { LeaseRepository } from '../common/lease.repository';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import type { MailboxEntity } from '../mailboxes/mailbox.entity';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { GmailPullService } from './gmail-pull.service';
import { GraphPullService } from './graph-pull.service';
import { MailboxWatchService } from './mailbox-watch.service';
import type { PullFinish } from '../mailboxes/pull-economy.policy';
import { SyncHealthService } from '../mailboxes/sync-health.service';

type Work = 'stop' | 'pause' | 'setup' | 'renew' | 'pull';

/**
 * Does whatever a mailbox needs now (stop, pause, setup, renewal, pull), under the mailbox's lease: one replica and
 * one pull at a time per mailbox, so its events stay in order. Never holds a transaction across a provider call.
 */
@Injectable()
export class MailboxProcessor {
  constructor(
    private readonly mailboxes: MailboxesRepository,
    private readonly leases: LeaseRepository,
    private readonly watch: MailboxWatchService,
    private readonly gmailPull: GmailPullService,
    private readonly graphPull: GraphPullService,
    private readonly health: SyncHealthService,
    private readonly metrics: GatewayMetrics,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
  ) {}

  /** False when another replica holds the mailbox. */
  async process(mailboxId: string): Promise<boolean> {
    const lease = `mailbox:${mailboxId}`;
    const ttl = this.config.MAILBOX_LEASE_SECONDS;
    let heldSince = Date.now();
    if (!(await this.leases.acquire(lease, ttl))) return false;
    const keepAlive = async (): Promise<void> => {
      // Within a quarter of its TTL the lease can neither have expired nor been taken: no statement per page then.
      if (Date.now() - heldSince < (ttl * 1000) / 4) return;
      const extendedFrom = Date.now();
      if (!(await this.leases.extend(lease, ttl))) throw new Error(`lost the lease of mailbox ${mailboxId}`);
      heldSince = extendedFrom;
    };
    try {
      // A few rounds: a notification that arrived during a pull is served before the lease is let go.
      for (let round = 0; round < 5; round++) {
        const mailbox = await this.mailboxes.findById(mailboxId);
        const work = mailbox ? this.dueWork(mailbox) : [];
        if (!mailbox || work.length === 0) break;
        try {
          await this.perform(mailbox, work, keepAlive);
        } catch (error) {
          if (work.includes('pull'))
            this.metrics.pulls.inc({ provider: mailbox.provider, outcome: 'failed' });
          const latest = (await this.mailboxes.findById(mailboxId)) ?? mailbox;
          await this.health.recordFailure(latest, error);
          break;
        }
      }
    } finally {
      await this.leases.release(lease);
    }
    return true;
  }

  private dueWork(m: MailboxEntity): Work[] {
    const now = Date.now();
    if (m.desired === 'stopped') return m.stage === 'stopped' ? [] : ['stop'];
    if (m.desired === 'paused') return m.stage === 'paused_auth' ? [] : ['pause'];
    if (m.backoffUntil && m.backoffUntil.getTime() > now) return [];
    // Paused by a refused grant while a connection still says active: try again (the pull asks for a token).
    if (m.stage === 'paused_auth') return m.backoffUntil ? ['pull'] : [];
    if (m.stage === 'starting' || m.stage === 'stopped') return ['setup'];
    const work: Work[] = [];
    if (m.watchRenewAt && m.watchRenewAt.getTime() <= now) work.push('renew');
    const quietSince = Math.max(m.lastNotificationAt?.getTime() ?? 0, m.lastPullAt?.getTime() ?? 0);
    const safetyNetDue = now - quietSince >= this.config.SAFETY_NET_POLL_SECONDS * 1000;
    if (m.pullRequestedAt || m.recovery || safetyNetDue || m.stage !== 'watching') work.push('pull');
    return work;
  }

  private async perform(mailbox: MailboxEntity, work: Work[], keepAlive: () => Promise<void>): Promise<void> {
    if (work.includes('stop')) return this.watch.stop(mailbox);
    if (work.includes('pause')) {
      // Paused, not stopped: the cursor stays, sync resumes from it after re-consent (CON-5).
      await this.uow.run((tx) =>
        this.health.apply(tx, mailbox.id, { stage: 'paused_auth', backoffUntil: null }),
      );
      return;
    }
    if (work.includes('setup')) {
      await this.watch.setup(mailbox);
      return;
    }
    let current = mailbox;
    if (work.includes('renew')) {
      await this.watch.renew(mailbox);
      // The renewal wrote the row: the pull works from what it left, not from the row read before it.
      current = (await this.mailboxes.findById(mailbox.id)) ?? mailbox;
    }
    if (!work.includes('pull')) return;
    const started = process.hrtime.bigint();
    const input = { pullRequestedSeen: current.pullRequestedAt, pulled: true };
    let recorded = false;
    // Issue 16: the success goes with the last page's transaction, or alone (one statement) after a round of nothing.
    const finish: PullFinish = {
      inTransaction: async (tx, cursor) => {
        await this.health.recordSuccessIn(tx, current.id, { ...input, cursor });
        recorded = true;
      },
      alone: async (latest, cursor) => {
        await this.health.recordQuietSuccess(latest, { ...input, cursor });
        recorded = true;
      },
    };
    if (current.provider === 'google') await this.gmailPull.pull(current, keepAlive, finish);
    else await this.graphPull.pull(current, keepAlive, finish);
    if (!recorded) await this.health.recordSuccess(current, input);
    this.metrics.pulls.inc({ provider: current.provider, outcome: 'ok' });
    this.metrics.pullSeconds.observe(
      { provider: current.provider },
      Number(process.hrtime.bigint() - started) / 1e9,
    );
  }
}
