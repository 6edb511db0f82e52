import type { Clock } from './clock';

/** Switches tests flip to exercise a consumer's robustness: lost, late, duplicated or withheld notifications. */
export interface DeliveryBehaviour {
  /** Silently drop every new notification (logged as `dropped`). */
  drop: boolean;
  /** Wait this long before the first attempt. */
  delayMs: number;
  /** Deliver every notification twice (same message id), as at-least-once delivery may. */
  duplicate: boolean;
  /** Keep new notifications queued until `releaseHeld()`. */
  hold: boolean;
}

export interface DeliveryRecord {
  /** Notification id (Pub/Sub messageId, or a Graph batch id). */
  id: string;
  url: string;
  attempt: number;
  outcome: 'acked' | 'nacked' | 'dropped' | 'gave-up';
  status?: number;
  error?: string;
  at: string;
  body: unknown;
}

export interface RetryPolicy {
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export interface Notification {
  id: string;
  url: string;
  body: unknown;
  /** Called per attempt, e.g. to mint a fresh OIDC token. */
  headers: () => Record<string, string>;
}

/**
 * How many delivery records a dispatcher keeps (the newest): the log is for tests and debugging, and unbounded it grew
 * with every push of a long soak or bench. The specs that read it see at most 18 records per dispatcher (gateway
 * webhooks and mailbox-sync, sandbox push and Graph specs), the whole Gmail e2e file 22, so 1,000 leaves ample room.
 */
export const DELIVERY_LOG_LIMIT = 1_000;

/**
 * Posts notifications (Pub/Sub pushes, Graph change and lifecycle notifications) with the provider's retry rules and
 * the test switches above. Every timer is unref'd and cancelled on close, and `idle()` lets tests wait for quiet.
 */
export class WebhookDispatcher {
  behaviour: DeliveryBehaviour = { drop: false, delayMs: 0, duplicate: false, hold: false };
  /** The newest DELIVERY_LOG_LIMIT delivery records, oldest first. */
  readonly log: DeliveryRecord[] = [];
  private readonly held: Notification[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly controllers = new Set<AbortController>();
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: {
      timeoutMs: number;
      isAck: (status: number) => boolean;
      retry: RetryPolicy;
      onGiveUp?: (n: Notification) => void;
    },
  ) {}

  setBehaviour(patch: Partial<DeliveryBehaviour>): DeliveryBehaviour {
    this.behaviour = { ...this.behaviour, ...patch };
    if (!this.behaviour.hold) this.releaseHeld();
    return this.behaviour;
  }

  send(n: Notification): void {
    if (this.closed) return;
    if (this.behaviour.drop) {
      this.record(n, 0, 'dropped');
      return;
    }
    if (this.behaviour.hold) {
      this.held.push(n);
      return;
    }
    const copies = this.behaviour.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) this.schedule(n, 1, this.behaviour.delayMs);
  }

  /** Sends everything held back by `hold`. */
  releaseHeld(): number {
    const held = this.held.splice(0);
    for (const n of held) this.schedule(n, 1, 0);
    return held.length;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Resolves once nothing is in flight or scheduled (held notifications do not count). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.controllers) c.abort();
    this.inFlight = 0;
    this.flushWaiters();
  }

  private schedule(n: Notification, attempt: number, delayMs: number): void {
    this.inFlight++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(n, attempt).finally(() => {
        this.inFlight = Math.max(0, this.inFlight - 1);
        if (this.inFlight === 0) this.flushWaiters();
      });
    }, delayMs);
    timer.unref();
    this.timers.add(timer);
  }

  private async attempt(n: Notification, attempt: number): Promise<void> {
    if (this.closed) return;
    const controller = new AbortController();
    this.controllers.add(controller);
    const timeout = setTimeout(() => controller.abort(), this.options.timeoutMs);
    timeout.unref();
    let status: number | undefined;
    let error: string | undefined;
    try {
      const res = await fetch(n.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...n.headers() },
        body: typeof n.body === 'string' ? n.body : JSON.stringify(n.body),
        signal: controller.signal,
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
    } catch (e) {
      error = controller.signal.aborted
        ? 'timeout'
        : e instanceof Error
          ? ((e.cause as Error)?.message ?? e.message)
          : String(e);
    } finally {
      clearTimeout(timeout);
      this.controllers.delete(controller);
    }
    if (this.closed) return;
    if (status !== undefined && this.options.isAck(status)) {
      this.record(n, attempt, 'acked', status);
      return;
    }
    const { maxAttempts, minBackoffMs, maxBackoffMs } = this.options.retry;
    if (attempt >= maxAttempts) {
      this.record(n, attempt, 'gave-up', status, error);
      this.options.onGiveUp?.(n);
      return;
    }
    this.record(n, attempt, 'nacked', status, error);
    this.schedule(n, attempt + 1, Math.min(maxBackoffMs, minBackoffMs * 2 ** (attempt - 1)));
  }

  private record(
    n: Notification,
    attempt: number,
    outcome: DeliveryRecord['outcome'],
    status?: number,
    error?: string,
  ): void {
    this.log.push({
      id: n.id,
      url: n.url,
      attempt,
      outcome,
      status,
      error,
      at: new Date(this.clock.now()).toISOString(),
      body: n.body,
    });
    const excess = this.log.length - DELIVERY_LOG_LIMIT;
    if (excess > 0) this.log.splice(0, excess);
  }

  private flushWaiters(): void {
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w();
  }
}
