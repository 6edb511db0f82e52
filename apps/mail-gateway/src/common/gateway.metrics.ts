import { Inject, Injectable } from '@nestjs/common';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { ServiceMetrics } from '@mailbridge/platform-observability';
import { METRICS } from '@mailbridge/platform-runtime';

/** mail-gateway's Prometheus series, declared once. Mailboxes are labelled by id, never by address. */
@Injectable()
export class GatewayMetrics {
  readonly webhookRequests: Counter;
  readonly webhookRejected: Counter;
  readonly webhookAckSeconds: Histogram;
  readonly notificationsHandled: Counter;
  readonly messagesObserved: Counter;
  readonly pulls: Counter;
  readonly pullSeconds: Histogram;
  readonly providerErrors: Counter;
  readonly syncGaps: Counter;
  readonly messageFailures: Counter;
  readonly messagesExcluded: Counter;
  readonly sends: Counter;
  readonly audits: Counter;
  readonly auditMessages: Counter;
  readonly auditSeconds: Histogram;
  readonly mailboxStage: Gauge;
  readonly cursorAgeSeconds: Gauge;
  readonly lastNotificationAgeSeconds: Gauge;
  readonly lagSeconds: Gauge;
  readonly mailboxLastErrorInfo: Gauge;

  constructor(@Inject(METRICS) metrics: ServiceMetrics) {
    this.webhookRequests = metrics.counter(
      'mail_gateway_webhook_requests_total',
      'Provider webhook requests by provider and outcome (accepted, redelivery, rejected, validation, ignored)',
      ['provider', 'outcome'],
    );
    this.webhookRejected = metrics.counter(
      'mail_gateway_webhook_rejected_total',
      'Unauthenticated webhook requests refused with 401, by reason',
      ['provider', 'reason'],
    );
    this.webhookAckSeconds = metrics.histogram(
      'mail_gateway_webhook_ack_seconds',
      'Time to authenticate, hand off durably and answer a provider notification',
      ['provider'],
      [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    );
    this.notificationsHandled = metrics.counter(
      'mail_gateway_notifications_handled_total',
      'Handed-off notifications turned into pull requests',
      ['provider', 'kind'],
    );
    this.messagesObserved = metrics.counter(
      'mail_gateway_messages_observed_total',
      'message.observed events emitted',
      ['provider', 'direction'],
    );
    this.pulls = metrics.counter('mail_gateway_pulls_total', 'Mailbox pulls by outcome', [
      'provider',
      'outcome',
    ]);
    this.pullSeconds = metrics.histogram('mail_gateway_pull_seconds', 'Duration of one mailbox pull', [
      'provider',
    ]);
    this.providerErrors = metrics.counter(
      'mail_gateway_provider_errors_total',
      'Provider call failures by reduced code',
      ['provider', 'code'],
    );
    this.syncGaps = metrics.counter('mail_gateway_sync_gaps_total', 'mailbox.sync-gap events emitted', [
      'provider',
    ]);
    this.messageFailures = metrics.counter(
      'mail_gateway_message_failures_total',
      'Failed attempts of single messages in pulls, by outcome (retry_pending, quarantined)',
      ['provider', 'outcome'],
    );
    this.messagesExcluded = metrics.counter(
      'mail_gateway_messages_excluded_total',
      'Messages refused before storing by an exclusion list (SYN-8), by reason',
      ['provider', 'reason'],
    );
    this.sends = metrics.counter('mail_gateway_sends_total', 'Send commands by route and outcome', [
      'route',
      'outcome',
    ]);
    this.audits = metrics.counter(
      'mail_gateway_audits_total',
      'Completeness audits of mailboxes (SYN-10), by resulting status',
      ['provider', 'status'],
    );
    this.auditMessages = metrics.counter(
      'mail_gateway_audit_messages_total',
      'Provider messages in audits, by what the audit found: checked, missing, healed (re-driven), quarantined',
      ['provider', 'kind'],
    );
    this.auditSeconds = metrics.histogram('mail_gateway_audit_seconds', 'Duration of one mailbox audit', [
      'provider',
    ]);
    this.mailboxStage = metrics.gauge('mail_gateway_mailbox_stage', '1 for the stage each mailbox is in', [
      'mailbox_id',
      'provider',
      'stage',
    ]);
    this.cursorAgeSeconds = metrics.gauge(
      'mail_gateway_mailbox_cursor_age_seconds',
      'Seconds since the mailbox cursor was last confirmed up to date',
      ['mailbox_id', 'provider'],
    );
    this.lastNotificationAgeSeconds = metrics.gauge(
      'mail_gateway_mailbox_last_notification_age_seconds',
      'Seconds since the last provider notification for the mailbox',
      ['mailbox_id', 'provider'],
    );
    this.lagSeconds = metrics.gauge(
      'mail_gateway_mailbox_lag_seconds',
      'Seconds a requested pull has been waiting (0 when none is pending)',
      ['mailbox_id', 'provider'],
    );
    this.mailboxLastErrorInfo = metrics.gauge(
      'mail_gateway_mailbox_last_error_info',
      '1 with the code of the mailbox last error, while it is the current one',
      ['mailbox_id', 'provider', 'code'],
    );
  }
}
