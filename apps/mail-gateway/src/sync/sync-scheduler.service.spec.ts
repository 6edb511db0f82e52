import type { Logger } from '@mailbridge/platform-observability';
import type { MailGatewayConfig } from '../mail-gateway.config';
import type { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import type { SyncHealthService } from '../mailboxes/sync-health.service';
import type { MailboxProcessor } from './mailbox-processor.service';
import { SyncScheduler } from './sync-scheduler.service';

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A scheduler of one worker whose processor finishes a mailbox only when the test says so. */
function schedulerWith(due: string[]) {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const processor = {
    process: (id: string) =>
      new Promise<boolean>((resolve) => {
        started.push(id);
        finish.set(id, () => resolve(true));
      }),
  } as unknown as MailboxProcessor;
  const mailboxes = { due: () => Promise.resolve(due) } as unknown as MailboxesRepository;
  const health = { refreshGauges: () => Promise.resolve() } as unknown as SyncHealthService;
  const config = {
    SCHEDULER_TICK_MS: 3_600_000,
    PULL_CONCURRENCY: 1,
    SAFETY_NET_POLL_SECONDS: 300,
  } as MailGatewayConfig;
  const logger = { warn: jest.fn(), error: jest.fn() } as unknown as Logger;
  const scheduler = new SyncScheduler(mailboxes, processor, health, config, logger);
  const done = async (id: string) => {
    finish.get(id)?.();
    await settle();
  };
  return { scheduler, started, done };
}

describe('SyncScheduler', () => {
  it('issue 16: a nudged mailbox (new mail) runs before the safety-net polls a tick found due', async () => {
    const { scheduler, started, done } = schedulerWith(['idle-1', 'idle-2', 'idle-3']);
    scheduler.onApplicationBootstrap(); // the first tick queues the three idle mailboxes, one runs
    await settle();
    expect(started).toEqual(['idle-1']);
    scheduler.nudge('burst-1');
    scheduler.nudge('idle-3'); // a notification for a mailbox the tick also found: served once, now
    await done('idle-1');
    expect(started).toEqual(['idle-1', 'burst-1']);
    await done('burst-1');
    await done('idle-3');
    await done('idle-2');
    expect(started).toEqual(['idle-1', 'burst-1', 'idle-3', 'idle-2']);
    await scheduler.beforeApplicationShutdown();
  });

  it('runs a mailbox nudged while it runs again once it is done, still before what ticks found', async () => {
    const { scheduler, started, done } = schedulerWith(['idle-1', 'idle-2']);
    scheduler.onApplicationBootstrap();
    await settle();
    scheduler.nudge('idle-1');
    await done('idle-1');
    expect(started).toEqual(['idle-1', 'idle-1']);
    await done('idle-1');
    expect(started).toEqual(['idle-1', 'idle-1', 'idle-2']);
    await done('idle-2');
    await scheduler.beforeApplicationShutdown();
  });
});
