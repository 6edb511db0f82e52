import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import { type SigningKey, signJwt } from '../shared/key-material';
import { type RetryPolicy, WebhookDispatcher } from '../shared/webhook-dispatcher';
import type { GmailMailbox, HistoryRecord } from './gmail-mailbox';

/** A Pub/Sub topic with one push subscription (the shape Gmail watch notifications travel through). */
export interface PushTopic {
  topicName: string;
  subscription: string;
  /** Where the push subscription POSTs; without one, published messages are dropped like on a topic with no subscription. */
  pushEndpoint?: string;
  /** `oidcToken.audience`; the push endpoint URL when absent, as at Google. */
  audience?: string;
  serviceAccountEmail: string;
}

/**
 * How long a minted push token is reused for pushes to the same audience from the same service account. Pub/Sub
 * mints OIDC tokens valid for an hour and does not mint one per push; signing one per push was the emulator's own
 * cost (an RSA signature per notification), not Google's behaviour.
 */
export const PUSH_TOKEN_REUSE_MS = 5 * 60_000;

export interface PubSubOptions {
  /** Gmail sends at most one notification per second per watched mailbox. */
  minIntervalMs: number;
  ackDeadlineMs: number;
  retry: RetryPolicy;
}

/** Pub/Sub push delivery of Gmail watch notifications, with OIDC tokens signed by the emulator's Google key. */
export class PubSubPush {
  readonly topics = new Map<string, PushTopic>();
  readonly dispatcher: WebhookDispatcher;
  private readonly lastSent = new Map<string, number>();
  private readonly coalesced = new Map<string, NodeJS.Timeout>();
  private readonly serviceAccountIds = new Map<string, string>();
  private readonly tokens = new Map<string, { token: string; mintedAt: number }>();

  constructor(
    clock: Clock,
    private readonly ids: IdFactory,
    private readonly signingKey: SigningKey,
    private readonly options: PubSubOptions,
  ) {
    // Pub/Sub acks on 102, 200, 201, 202 and 204; anything else (or a timeout) is a nack and is redelivered.
    this.dispatcher = new WebhookDispatcher(clock, {
      timeoutMs: options.ackDeadlineMs,
      isAck: (s) => [102, 200, 201, 202, 204].includes(s),
      retry: options.retry,
    });
  }

  configureTopic(topic: PushTopic): PushTopic {
    this.topics.set(topic.topicName, topic);
    return topic;
  }

  /** Called on every history change of a mailbox; publishes when its watch covers the change. */
  onHistory(mailbox: GmailMailbox, record: HistoryRecord, now: number): void {
    const watch = mailbox.watch;
    if (!watch || watch.expiration <= now) return;
    if (watch.labelIds.length > 0) {
      const labels = new Set([...record.messageLabels, ...record.changedLabels]);
      const hit = watch.labelIds.some((l) => labels.has(l));
      if (watch.behavior === 'include' ? !hit : hit) return;
    }
    this.schedule(mailbox);
  }

  /** At most one notification per interval per mailbox; changes inside the interval merge into the next one. */
  private schedule(mailbox: GmailMailbox): void {
    const key = mailbox.address.toLowerCase();
    if (this.coalesced.has(key)) return;
    const wait = (this.lastSent.get(key) ?? -Infinity) + this.options.minIntervalMs - Date.now();
    if (wait <= 0) {
      this.publishNow(mailbox);
      return;
    }
    const timer = setTimeout(() => {
      this.coalesced.delete(key);
      this.publishNow(mailbox);
    }, wait);
    timer.unref();
    this.coalesced.set(key, timer);
  }

  private publishNow(mailbox: GmailMailbox): void {
    const watch = mailbox.watch;
    if (!watch) return;
    this.lastSent.set(mailbox.address.toLowerCase(), Date.now());
    this.publish(watch.topicName, { emailAddress: mailbox.address, historyId: String(mailbox.historyId) });
  }

  /** Publishes a message to a topic and pushes it to the topic's subscription endpoint. */
  publish(topicName: string, payload: unknown): string | undefined {
    const topic = this.topics.get(topicName);
    const messageId = this.ids.digits(16);
    if (!topic?.pushEndpoint) return undefined;
    const publishTime = new Date().toISOString();
    const data = Buffer.from(JSON.stringify(payload)).toString('base64');
    const endpoint = topic.pushEndpoint;
    this.dispatcher.send({
      id: messageId,
      url: endpoint,
      body: {
        message: { data, messageId, message_id: messageId, publishTime, publish_time: publishTime },
        subscription: topic.subscription,
      },
      headers: () => ({
        authorization: `Bearer ${this.token(topic, endpoint)}`,
        'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
      }),
    });
    return messageId;
  }

  /**
   * The OIDC token Pub/Sub attaches: RS256, `iss` accounts.google.com, `aud` the audience or endpoint. The same token
   * for {@link PUSH_TOKEN_REUSE_MS} per audience and service account, like a token cache (it stays valid an hour).
   */
  token(topic: PushTopic, endpoint: string): string {
    const audience = topic.audience ?? endpoint;
    const key = `${topic.serviceAccountEmail}\n${audience}`;
    const now = Date.now();
    const cached = this.tokens.get(key);
    if (cached && now - cached.mintedAt < PUSH_TOKEN_REUSE_MS) return cached.token;
    const token = this.mint(topic.serviceAccountEmail, audience, now);
    this.tokens.set(key, { token, mintedAt: now });
    return token;
  }

  private mint(serviceAccountEmail: string, audience: string, now: number): string {
    let saId = this.serviceAccountIds.get(serviceAccountEmail);
    if (!saId) {
      saId = this.ids.digits(21);
      this.serviceAccountIds.set(serviceAccountEmail, saId);
    }
    const iat = Math.floor(now / 1000);
    return signJwt(this.signingKey, {
      aud: audience,
      azp: saId,
      email: serviceAccountEmail,
      email_verified: true,
      exp: iat + 3600,
      iat,
      iss: 'https://accounts.google.com',
      sub: saId,
    });
  }

  /** Resolves when no notification is waiting for its slot or in flight (held ones excluded). */
  async idle(): Promise<void> {
    for (;;) {
      while (this.coalesced.size > 0) await new Promise((r) => setTimeout(r, 10));
      await this.dispatcher.idle();
      if (this.coalesced.size === 0) return;
    }
  }

  close(): void {
    for (const t of this.coalesced.values()) clearTimeout(t);
    this.coalesced.clear();
    this.dispatcher.close();
  }
}
