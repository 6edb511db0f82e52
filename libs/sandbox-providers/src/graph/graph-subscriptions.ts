import type { Clock } from '../shared/clock';
import type { IdFactory } from '../shared/id-factory';
import { type RetryPolicy, WebhookDispatcher } from '../shared/webhook-dispatcher';
import { graphError } from './graph-errors';
import type { ChangeType, FolderName, GraphMailbox, GraphMessage } from './graph-mailbox';

export interface GraphSubscription {
  id: string;
  resource: string;
  changeTypes: ChangeType[];
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState?: string;
  expiration: number;
  applicationId: string;
  creatorId: string;
  mailbox: string;
  /** Folder the resource covers; undefined = the whole mailbox (`/me/messages`). */
  folder?: FolderName;
  immutableIds: boolean;
  latestSupportedTlsVersion: string;
  reauthorizationRequired: boolean;
}

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface SubscriptionOptions {
  /** 4,230 minutes in the older docs, 10,080 in the current ones. */
  maxExpirationMinutes: number;
  validationTimeoutMs: number;
  notificationTimeoutMs: number;
  /** Real Graph only calls https endpoints; off by default so local http webhooks work. */
  requireHttps: boolean;
  maxPerMailbox: number;
  retry: RetryPolicy;
}

export interface CreateSubscriptionInput {
  changeType?: string;
  notificationUrl?: string;
  lifecycleNotificationUrl?: string;
  resource?: string;
  expirationDateTime?: string;
  clientState?: string;
  latestSupportedTlsVersion?: string;
  includeResourceData?: boolean;
}

const RESOURCE =
  /^\/?(?:me|users\/([^/]+)|users\('([^']+)'\))\/(?:mailFolders(?:\('([^']+)'\)|\/([^/]+))\/)?messages$/i;

/** Graph change-notification subscriptions on Outlook messages: validation handshake, delivery, lifecycle events. */
export class GraphSubscriptions {
  readonly subscriptions = new Map<string, GraphSubscription>();
  readonly dispatcher: WebhookDispatcher;
  readonly validations: { url: string; status?: number; ok: boolean; at: string }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly ids: IdFactory,
    readonly options: SubscriptionOptions,
  ) {
    this.dispatcher = new WebhookDispatcher(clock, {
      timeoutMs: options.notificationTimeoutMs,
      isAck: (s) => s >= 200 && s < 300,
      retry: options.retry,
    });
  }

  private checkExpiration(value: string | undefined): number {
    const t = Date.parse(value ?? '');
    const now = this.clock.now();
    if (!Number.isFinite(t))
      throw graphError(400, 'InvalidRequest', 'expirationDateTime is required and must be a valid date.');
    if (t <= now) throw graphError(400, 'InvalidRequest', 'Subscription expiration must be in the future.');
    if (t > now + this.options.maxExpirationMinutes * 60_000) {
      throw graphError(
        400,
        'InvalidRequest',
        `Subscription expiration can only be ${this.options.maxExpirationMinutes} minutes in the future.`,
      );
    }
    // Expirations under 45 minutes are raised to 45 minutes.
    return Math.max(t, now + 45 * 60_000);
  }

  private checkUrl(url: string | undefined, field: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url ?? '');
    } catch {
      throw graphError(400, 'InvalidRequest', `Invalid ${field}: '${url ?? ''}'.`);
    }
    if (this.options.requireHttps && parsed.protocol !== 'https:') {
      throw graphError(
        400,
        'ValidationError',
        `Subscription validation request failed. ${field} must be https.`,
      );
    }
    return parsed.toString();
  }

  /** POSTs `?validationToken=` and expects the decoded token back as text/plain within the deadline. */
  private async validate(url: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${this.ids.guid()}`;
    const target = new URL(url);
    target.searchParams.set('validationToken', token);
    let status: number | undefined;
    let text = '';
    try {
      const res = await fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: '',
        signal: AbortSignal.timeout(this.options.validationTimeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch {
      this.validations.push({ url, ok: false, at: new Date(this.clock.now()).toISOString() });
      throw graphError(
        400,
        'ValidationError',
        'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
      );
    }
    const ok = status === 200 && text === token;
    this.validations.push({ url, status, ok, at: new Date(this.clock.now()).toISOString() });
    if (status !== 200) {
      throw graphError(
        400,
        'ValidationError',
        'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
      );
    }
    if (!ok) {
      throw graphError(
        400,
        'ValidationError',
        'Subscription validation request failed. Response must exactly match validationToken query parameter.',
      );
    }
  }

  async create(
    mailbox: GraphMailbox,
    appId: string,
    input: CreateSubscriptionInput,
    immutableIds: boolean,
  ): Promise<GraphSubscription> {
    const m = RESOURCE.exec(input.resource ?? '');
    if (!m)
      throw graphError(
        400,
        'InvalidRequest',
        `Resource '${input.resource ?? ''}' is not supported for subscriptions by the sandbox.`,
      );
    const user = m[1] ?? m[2];
    if (user && user.toLowerCase() !== mailbox.address.toLowerCase() && user !== mailbox.oid) {
      throw graphError(
        403,
        'ExtensionError',
        'Operation: Create; Exception: [Status Code: Forbidden; Reason: Access is denied. Check credentials and try again.]',
      );
    }
    const folderName = m[3] ?? m[4];
    const folder = folderName ? mailbox.folder(folderName)?.name : undefined;
    if (folderName && !folder)
      throw graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    const changeTypes = (input.changeType ?? '').split(',').map((s) => s.trim()) as ChangeType[];
    if (changeTypes.length === 0 || changeTypes.some((t) => !['created', 'updated', 'deleted'].includes(t))) {
      throw graphError(400, 'InvalidRequest', `Invalid changeType '${input.changeType ?? ''}'.`);
    }
    if (input.includeResourceData) {
      throw graphError(
        400,
        'InvalidRequest',
        'Rich notifications (includeResourceData) are not supported by the sandbox.',
      );
    }
    if (input.clientState && input.clientState.length > 128) {
      throw graphError(400, 'InvalidRequest', 'clientState must be at most 128 characters.');
    }
    const expiration = this.checkExpiration(input.expirationDateTime);
    const notificationUrl = this.checkUrl(input.notificationUrl, 'notificationUrl');
    const lifecycleNotificationUrl = input.lifecycleNotificationUrl
      ? this.checkUrl(input.lifecycleNotificationUrl, 'lifecycleNotificationUrl')
      : undefined;
    const existing = [...this.subscriptions.values()].filter((s) => s.mailbox === mailbox.address);
    if (existing.length >= this.options.maxPerMailbox) {
      throw graphError(
        403,
        'ExtensionError',
        `Operation: Create; Exception: [Status Code: Forbidden; Reason: The mailbox has reached its limit of ${this.options.maxPerMailbox} subscriptions.]`,
      );
    }
    await this.validate(notificationUrl);
    if (lifecycleNotificationUrl) await this.validate(lifecycleNotificationUrl);
    const sub: GraphSubscription = {
      id: this.ids.guid(),
      resource: input.resource ?? '',
      changeTypes,
      notificationUrl,
      lifecycleNotificationUrl,
      clientState: input.clientState,
      expiration,
      applicationId: appId,
      creatorId: mailbox.oid,
      mailbox: mailbox.address,
      folder,
      immutableIds,
      latestSupportedTlsVersion: input.latestSupportedTlsVersion ?? 'v1_2',
      reauthorizationRequired: false,
    };
    this.subscriptions.set(sub.id, sub);
    return sub;
  }

  get(id: string): GraphSubscription | undefined {
    this.sweep();
    return this.subscriptions.get(id);
  }

  list(): GraphSubscription[] {
    this.sweep();
    return [...this.subscriptions.values()];
  }

  renew(sub: GraphSubscription, expirationDateTime: string | undefined): GraphSubscription {
    sub.expiration = this.checkExpiration(expirationDateTime);
    sub.reauthorizationRequired = false;
    return sub;
  }

  reauthorize(sub: GraphSubscription): void {
    sub.reauthorizationRequired = false;
  }

  delete(id: string): boolean {
    return this.subscriptions.delete(id);
  }

  /** Lapsed subscriptions disappear, as Graph deletes them. */
  private sweep(): void {
    const now = this.clock.now();
    for (const [id, s] of this.subscriptions) if (s.expiration <= now) this.subscriptions.delete(id);
  }

  onChange(
    mailbox: GraphMailbox,
    message: GraphMessage,
    type: ChangeType,
    folder: FolderName,
    restId: string,
  ): void {
    this.sweep();
    for (const sub of this.subscriptions.values()) {
      if (sub.mailbox !== mailbox.address) continue;
      if (sub.folder && sub.folder !== folder) continue;
      if (!sub.changeTypes.includes(type)) continue;
      const id = sub.immutableIds ? message.immutableId : restId;
      const resource = `Users/${mailbox.oid}/Messages/${id}`;
      this.dispatcher.send({
        id: this.ids.guid(),
        url: sub.notificationUrl,
        headers: () => ({}),
        body: {
          value: [
            {
              subscriptionId: sub.id,
              subscriptionExpirationDateTime: new Date(sub.expiration).toISOString(),
              changeType: type,
              resource,
              resourceData: {
                '@odata.type': '#Microsoft.Graph.Message',
                '@odata.id': resource,
                '@odata.etag': `W/"${message.changeKey}"`,
                id,
              },
              clientState: sub.clientState ?? null,
              tenantId: mailbox.tenantId,
            },
          ],
        },
      });
    }
  }

  /** Sends a lifecycle event; `subscriptionRemoved` also deletes the subscription. */
  lifecycle(sub: GraphSubscription, event: LifecycleEvent, tenantId: string): boolean {
    if (event === 'reauthorizationRequired') sub.reauthorizationRequired = true;
    if (event === 'subscriptionRemoved') this.subscriptions.delete(sub.id);
    if (!sub.lifecycleNotificationUrl) return false;
    this.dispatcher.send({
      id: this.ids.guid(),
      url: sub.lifecycleNotificationUrl,
      headers: () => ({}),
      body: {
        value: [
          {
            subscriptionId: sub.id,
            subscriptionExpirationDateTime: new Date(sub.expiration).toISOString(),
            tenantId,
            clientState: sub.clientState ?? null,
            lifecycleEvent: event,
          },
        ],
      },
    });
    return true;
  }

  close(): void {
    this.dispatcher.close();
  }
}
