import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from '@mailbridge/platform-observability';
import { LOGGER } from '@mailbridge/platform-runtime';
import { GatewayMetrics } from '../common/gateway.metrics';
import { backoffWithJitter, sleep } from '../common/timing';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { MailboxBudgets } from './mailbox-budget';
import { MailboxThrottledError, MessageCallFailedError, asProviderFailure } from './provider-failure';

/** Who a provider call is for: the mailbox whose budget it spends and how to get its access token. */
export interface CallTarget {
  /** The mailbox key: budgets and Retry-After pauses are per mailbox. */
  readonly key: string;
  readonly provider: 'google' | 'microsoft';
  /** An access token; `forceRefresh` once the provider refused the previous one. */
  token(forceRefresh: boolean): Promise<string>;
}

/** One item's outcome in a batched call: its value or its own error. */
export type BatchItemResult<T> =
  | { readonly id: string; readonly ok: true; readonly value: T }
  | { readonly id: string; readonly ok: false; readonly error: unknown };

export interface CallOptions {
  readonly operation: string;
  /** Gmail quota units the call costs. */
  readonly units?: number;
  /**
   * Whether repeating the call after a temporary failure is harmless. A send is not: its outcome is unknown after a
   * timeout or 5xx, so the caller looks in Sent first (SND-6) instead of this policy retrying it blindly.
   */
  readonly idempotent: boolean;
}

/**
 * How every provider call is made: within the mailbox's budget (Gmail quota units, Graph concurrency), with one
 * forced token refresh on a 401 (identity-connections learns a grant died this way, CON-5), Retry-After honoured for
 * the whole mailbox, and exponential backoff with jitter on temporary failures. A Retry-After too long to wait in
 * place surfaces as {@link MailboxThrottledError} so the mailbox is paused instead of holding a worker.
 */
@Injectable()
export class ProviderCallPolicy {
  readonly budgets: MailboxBudgets;

  constructor(
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    private readonly metrics: GatewayMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.budgets = new MailboxBudgets({
      gmailUnitsPerMinute: config.GMAIL_QUOTA_UNITS_PER_MINUTE,
      graphMaxConcurrent: config.GRAPH_MAX_CONCURRENT_PER_MAILBOX,
    });
  }

  async run<T>(
    target: CallTarget,
    options: CallOptions,
    call: (accessToken: string) => Promise<T>,
  ): Promise<T> {
    const maxAttempts = this.config.PROVIDER_MAX_ATTEMPTS;
    let forceRefresh = false;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const release = await this.budgets.acquire(target.key, target.provider, options.units ?? 1);
      try {
        const token = await target.token(forceRefresh);
        forceRefresh = false;
        return await call(token);
      } catch (error) {
        const failure = asProviderFailure(error);
        if (!failure) throw error;
        this.metrics.providerErrors.inc({ provider: target.provider, code: failure.code });
        if (failure.tokenRejected && !refreshed) {
          refreshed = true;
          forceRefresh = true;
          continue;
        }
        if (failure.code === 'rate_limited') {
          const wait =
            failure.retryAfterMs ??
            backoffWithJitter(attempt, 1_000, Math.max(1_000, this.config.PROVIDER_MAX_INLINE_WAIT_MS));
          this.budgets.pause(target.key, wait);
          if (wait > this.config.PROVIDER_MAX_INLINE_WAIT_MS || attempt >= maxAttempts) {
            throw new MailboxThrottledError(wait, `${options.operation}: throttled for ${wait} ms`);
          }
          this.logger.debug(
            { mailboxKey: target.key, wait, operation: options.operation },
            'throttled, waiting',
          );
          continue;
        }
        if (failure.code === 'temporary' && options.idempotent && attempt < maxAttempts) {
          await sleep(backoffWithJitter(attempt, 250, 5_000));
          continue;
        }
        throw error;
      } finally {
        release();
      }
    }
  }

  /**
   * A batched call (Gmail HTTP batch, Graph `$batch`): the whole request within the mailbox's budget (`unitsPerItem`
   * per item, one Graph concurrency slot), the request itself under {@link run}'s rules (a token refused in any part
   * refreshes once and resends the batch). Items that come back throttled or temporarily failed are sent again, alone,
   * after the Retry-After (the whole mailbox pauses, as for a single call) or a backoff, up to PROVIDER_MAX_ATTEMPTS;
   * every other item keeps its own answer, so one message's 404 or 429 never fails its neighbours. An item still
   * failing temporarily while others were served becomes a {@link MessageCallFailedError} (message-specific).
   */
  async runBatch<T>(
    target: CallTarget,
    options: CallOptions & { readonly unitsPerItem?: number },
    ids: readonly string[],
    call: (accessToken: string, ids: readonly string[]) => Promise<ReadonlyArray<BatchItemResult<T>>>,
  ): Promise<Map<string, BatchItemResult<T>>> {
    const maxAttempts = this.config.PROVIDER_MAX_ATTEMPTS;
    const results = new Map<string, BatchItemResult<T>>();
    let remaining = [...new Set(ids)];
    for (let round = 1; remaining.length > 0; round++) {
      const answers = await this.run(
        target,
        { ...options, units: (options.unitsPerItem ?? 0) * remaining.length || options.units },
        async (token) => {
          const out = await call(token, remaining);
          // A refused token is the mailbox's, not one message's: refresh and resend the whole batch.
          const refused = out.find((r) => !r.ok && asProviderFailure(r.error)?.tokenRejected);
          if (refused && !refused.ok) throw refused.error;
          return out;
        },
      );
      const again: string[] = [];
      let wait = 0;
      let throttled = false;
      for (const answer of answers) {
        const failure = answer.ok ? undefined : asProviderFailure(answer.error);
        if (failure && round < maxAttempts && failure.code === 'rate_limited') {
          this.metrics.providerErrors.inc({ provider: target.provider, code: failure.code });
          throttled = true;
          wait = Math.max(
            wait,
            failure.retryAfterMs ??
              backoffWithJitter(round, 1_000, Math.max(1_000, this.config.PROVIDER_MAX_INLINE_WAIT_MS)),
          );
          again.push(answer.id);
        } else if (failure && round < maxAttempts && failure.code === 'temporary' && options.idempotent) {
          this.metrics.providerErrors.inc({ provider: target.provider, code: failure.code });
          wait = Math.max(wait, backoffWithJitter(round, 250, 5_000));
          again.push(answer.id);
        } else {
          results.set(answer.id, answer);
        }
      }
      for (const id of remaining) {
        if (!results.has(id) && !again.includes(id)) {
          results.set(id, { id, ok: false, error: new Error(`${options.operation}: no answer for ${id}`) });
        }
      }
      if (again.length === 0) break;
      if (throttled) {
        // Every call of the mailbox honours it: the next round waits in `run` (budgets.acquire).
        this.budgets.pause(target.key, wait);
        if (wait > this.config.PROVIDER_MAX_INLINE_WAIT_MS) {
          const error = new MailboxThrottledError(wait, `${options.operation}: throttled for ${wait} ms`);
          for (const id of again) results.set(id, { id, ok: false, error });
          break;
        }
      } else {
        await sleep(wait);
      }
      remaining = again;
    }
    // Served neighbours prove the provider and the mailbox fine: what still fails temporarily is that message's own.
    if ([...results.values()].some((r) => r.ok)) {
      for (const [id, r] of results) {
        const failure = r.ok ? undefined : asProviderFailure(r.error);
        if (failure?.code === 'temporary' && !r.ok)
          results.set(id, { id, ok: false, error: new MessageCallFailedError(failure, { cause: r.error }) });
      }
    }
    return results;
  }
}
