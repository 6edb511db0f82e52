import { Inject, Injectable } from '@nestjs/common';
import { sendFailedV1, sendSucceededV1 } from '@mailbridge/contracts';
import { decideSendingCap, sendingCapFor } from '@mailbridge/domain-mail';
import type { Logger } from '@mailbridge/platform-observability';
import { ObjectNotFoundError } from '@mailbridge/platform-object-store';
import type { UnitOfWork } from '@mailbridge/platform-persistence';
import { LOGGER, UNIT_OF_WORK } from '@mailbridge/platform-runtime';
import { GatewayMetrics } from '../common/gateway.metrics';
import { MailboxesRepository } from '../mailboxes/mailboxes.repository';
import { MAIL_GATEWAY_CONFIG, sendingCapsOf, type MailGatewayConfig } from '../mail-gateway.config';
import { AccessTokenUnavailableError, asProviderFailure } from '../provider-access/provider-failure';
import { GmailSendDriver } from './gmail-send.driver';
import { GraphSendDriver } from './graph-send.driver';
import { LocationProviderDriver, RelayRejectedError } from './location-provider.driver';
import { NotSentError, type SendCommand, type SendRouteDriver } from './send-command';
import type { SendLogEntity } from './send-log.entity';
import { SendLogRepository, type SentOutcome } from './send-log.repository';
import { SendAsResolver } from './send-as.resolver';

/** Retry later (the bus redelivers with backoff); the send log says whether it may simply be sent again. */
export class SendRetryLaterError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SendRetryLaterError';
  }
}

type Claim = { kind: 'done' } | { kind: 'send' | 'verify'; log: SendLogEntity };

/**
 * Sends one `send.requested`, at most once (SND-6): the attempt is recorded (`sending`) before the provider is
 * called; a redelivery of a `sending` attempt first looks for the message in Sent (Gmail by Message-ID, Graph by the
 * recorded draft) and only sends again when it is certainly not there. Caps (SND-4, `decideSendingCap`, shared with
 * conversations) are checked when the send is first recorded; over the cap it is refused with a clear message, never
 * dropped or rerouted.
 */
@Injectable()
export class SendEmailUseCase {
  constructor(
    private readonly log: SendLogRepository,
    private readonly mailboxes: MailboxesRepository,
    private readonly gmail: GmailSendDriver,
    private readonly graph: GraphSendDriver,
    private readonly locationProvider: LocationProviderDriver,
    private readonly sendAs: SendAsResolver,
    private readonly metrics: GatewayMetrics,
    @Inject(UNIT_OF_WORK) private readonly uow: UnitOfWork,
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** `finalAttempt`: the bus will not redeliver after this one, so a retryable failure becomes `send.failed`. */
  async execute(command: SendCommand, finalAttempt: boolean): Promise<void> {
    const claim = await this.claim(command);
    if (claim.kind === 'done') return;
    const driver = this.driverFor(command);
    try {
      let outcome: SentOutcome | undefined;
      let sentAs = command.from;
      if (claim.kind === 'verify') {
        const found = await driver.findSent(command, claim.log);
        if (found === 'unknown') {
          return await this.fail(
            command,
            'send_outcome_unknown',
            'An earlier attempt may have been sent and the relay cannot confirm it; not sent again to avoid a duplicate.',
          );
        }
        outcome = found;
        if (!outcome) await this.uow.run((tx) => this.log.beginAttempt(tx.manager, command.sendId));
      }
      if (!outcome) {
        // SND-7: From re-checked against the mailbox's verified addresses, signature appended (per attempt).
        const prepared = await this.sendAs.prepare(command);
        if (!prepared.ok) return await this.fail(command, prepared.code, prepared.message);
        sentAs = prepared.command.from;
        outcome = await driver.send(prepared.command, claim.log, (draftId, rfcMessageId) =>
          this.uow.run((tx) => this.log.recordDraft(tx.manager, command.sendId, draftId, rfcMessageId)),
        );
      }
      await this.succeed(command, outcome, sentAs);
    } catch (error) {
      await this.handleFailure(command, error, finalAttempt);
    }
  }

  private driverFor(command: SendCommand): SendRouteDriver {
    if (command.route.kind === 'location_provider') return this.locationProvider;
    return command.route.provider === 'google' ? this.gmail : this.graph;
  }

  private claim(command: SendCommand): Promise<Claim> {
    return this.uow.run(async (tx): Promise<Claim> => {
      const existing = await this.log.lock(tx.manager, command.sendId);
      if (existing) {
        if (existing.state === 'sent' || existing.state === 'failed') return { kind: 'done' };
        if (existing.state === 'not_sent') await this.log.beginAttempt(tx.manager, command.sendId);
        return { kind: existing.state === 'sending' ? 'verify' : 'send', log: existing };
      }
      const route = command.route;
      const base = {
        sendId: command.sendId,
        locationId: command.locationId,
        route: route.kind,
        mailboxKey: route.kind === 'mailbox' ? route.mailboxKey : null,
        connectionId: route.kind === 'mailbox' ? route.connectionId : null,
        kind: command.kind,
        rfcMessageId: command.rfcMessageId,
      };
      // Refused before the provider is called: recorded as failed and told, never retried.
      const refuse = async (code: string, message: string): Promise<Claim> => {
        await this.log.insert(tx.manager, {
          ...base,
          state: 'failed',
          errorCode: code,
          errorMessage: message,
        });
        this.emitFailed(tx, command, code, message);
        return { kind: 'done' };
      };
      if (route.kind === 'mailbox') {
        // CON-4/CON-3: never through a connection this service already knows ended (sync-engine may have routed
        // before it learned); refused, not rerouted: the user sees why and can send again.
        const connection = await this.mailboxes.connectionById(tx.manager, route.connectionId);
        if (connection && (connection.status === 'disconnected' || connection.status === 'replaced')) {
          const message =
            `${route.fromAddress} was ${connection.status === 'disconnected' ? 'disconnected' : 'replaced by another mailbox'} ` +
            `before this email was sent. Nothing was sent; send it again to use the current route.`;
          return refuse('connection_ended', message);
        }
        // SND-4: the same decision conversations made before accepting the send (libs/domain/mail), so the CRM's
        // answer is what happens here; this is the last line before the provider.
        const send = {
          kind: command.kind,
          mailbox: { provider: route.provider, address: route.fromAddress },
        };
        const caps = sendingCapsOf(this.config);
        const cap = sendingCapFor(send, caps);
        const usage = cap === null ? null : await this.log.capUsage(tx.manager, route.mailboxKey, cap);
        const verdict = decideSendingCap(send, caps, usage, new Date());
        if (verdict.outcome === 'refuse') return refuse(verdict.code, verdict.message);
      }
      await this.log.insert(tx.manager, { ...base, state: 'sending' });
      const created = await this.log.lock(tx.manager, command.sendId);
      if (!created) throw new Error('send log row vanished');
      return { kind: 'send', log: created };
    });
  }

  private async succeed(
    command: SendCommand,
    outcome: SentOutcome,
    sentAs: SendCommand['from'],
  ): Promise<void> {
    // Without a From of its own the email goes out as the routed mailbox: what the CRM records as sent (CON-3).
    const from =
      sentAs ?? (command.route.kind === 'mailbox' ? { address: command.route.fromAddress } : undefined);
    await this.uow.run(async (tx) => {
      const sentAt = await this.log.markSent(tx.manager, command.sendId, outcome);
      tx.emit(sendSucceededV1, {
        sendId: command.sendId,
        locationId: command.locationId,
        userId: command.userId,
        contactId: command.contactId,
        conversationId: command.conversationId,
        route: command.route,
        provider: command.route.kind === 'mailbox' ? command.route.provider : null,
        providerMessageId: outcome.providerMessageId,
        providerThreadId: outcome.providerThreadId,
        rfcMessageId: outcome.providerRfcMessageId.slice(0, 998) || command.rfcMessageId,
        sentAt: sentAt.toISOString(),
        ...(from ? { from } : {}),
      });
    });
    this.metrics.sends.inc({ route: command.route.kind, outcome: 'sent' });
  }

  private async fail(command: SendCommand, code: string, message: string): Promise<void> {
    await this.uow.run(async (tx) => {
      await this.log.setState(tx.manager, command.sendId, 'failed', { code, message });
      this.emitFailed(tx, command, code, message);
    });
    this.metrics.sends.inc({ route: command.route.kind, outcome: code });
    this.logger.warn({ sendId: command.sendId, code }, 'send failed');
  }

  private emitFailed(
    tx: Parameters<Parameters<UnitOfWork['run']>[0]>[0],
    command: SendCommand,
    code: string,
    message: string,
  ): void {
    tx.emit(sendFailedV1, {
      sendId: command.sendId,
      locationId: command.locationId,
      userId: command.userId,
      contactId: command.contactId,
      conversationId: command.conversationId,
      route: command.route,
      code,
      message: message.slice(0, 2000),
      failedAt: new Date().toISOString(),
    });
  }

  /**
   * Permanent refusals become `send.failed`; throttling and certain non-sends are retried (and sent again);
   * an unknown outcome stays `sending`, so the retry looks in Sent first.
   */
  private async handleFailure(command: SendCommand, error: unknown, finalAttempt: boolean): Promise<void> {
    const notSent = error instanceof NotSentError;
    const cause = notSent ? error.cause : error;
    if (cause instanceof ObjectNotFoundError) {
      return this.fail(
        command,
        'attachment_missing',
        `An attachment's bytes are not in the object store (${cause.key}).`,
      );
    }
    if (cause instanceof RelayRejectedError) {
      return this.fail(
        command,
        'provider_rejected',
        `The location provider refused the email: ${cause.message}`,
      );
    }
    const failure = asProviderFailure(cause);
    if (failure?.code === 'auth_revoked') {
      const ended = cause instanceof AccessTokenUnavailableError && cause.connectionEnded;
      return this.fail(
        command,
        ended ? 'no_active_connection' : 'auth_revoked',
        ended
          ? 'The mailbox connection has ended; nothing was sent.'
          : 'The mailbox needs to be reconnected (the provider rejected the grant); nothing was sent.',
      );
    }
    if (failure?.code === 'invalid_request' || failure?.code === 'not_found') {
      return this.fail(command, 'provider_rejected', `The provider refused the email: ${failure.message}`);
    }
    const definitelyNotSent = notSent || failure?.code === 'rate_limited';
    if (finalAttempt) {
      return this.fail(
        command,
        failure?.code === 'rate_limited' ? 'rate_limited' : 'provider_unavailable',
        `The provider could not take the email after several attempts: ${(cause as Error)?.message ?? String(cause)}`,
      );
    }
    if (definitelyNotSent)
      await this.uow.run((tx) => this.log.setState(tx.manager, command.sendId, 'not_sent'));
    throw new SendRetryLaterError(failure?.code ?? 'send_failed', (cause as Error)?.message ?? String(cause));
  }
}
