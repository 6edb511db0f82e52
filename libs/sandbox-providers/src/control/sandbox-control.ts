// The programmatic control API class: mailboxes, message state, credentials, sync state, notifications, faults.
import type { ConsentSettings } from '../shared/consent';
import type { FaultSpec } from '../shared/faults';
import type { OutboundRecord } from '../shared/post-office';
import type { DeliveryBehaviour, DeliveryRecord } from '../shared/webhook-dispatcher';
import type { GmailMailbox } from '../gmail/gmail-mailbox';
import type { PushTopic } from '../gmail/pubsub-push';
import type { FolderName, GraphMailbox } from '../graph/graph-mailbox';
import type { GraphSubscription, LifecycleEvent } from '../graph/graph-subscriptions';
import { bulkDeliver } from './bulk-delivery';
import { bracket, deliverInbound, gmailByHeader, sendFromGmail, sendFromOutlook } from './control-mail';
import type {
  BulkDeliveryItem,
  BulkDeliveryResult,
  ControlResult,
  InboundMessage,
  MessageStateAction,
  MessageStateView,
  OwnerMessage,
  ProviderName,
} from './control-types';
import { gmailMailboxView, graphMailboxView, type MailboxView } from './mail-view';
import type { FaultTargetName, SandboxState } from './sandbox-state';

export type {
  AddressInput,
  AttachmentInput,
  BulkDeliveryItem,
  BulkDeliveryResult,
  ControlResult,
  InboundMessage,
  MessageStateAction,
  MessageStateView,
  OwnerMessage,
  ProviderName,
} from './control-types';

/** The programmatic control API (the HTTP one under `/_sandbox` maps onto it). */
export class SandboxControl {
  constructor(private readonly s: SandboxState) {}

  // ---- mailboxes ----

  createMailbox(input: { provider: ProviderName; address: string; displayName?: string }): MailboxView {
    if (input.provider === 'google')
      return gmailMailboxView(this.s.gmail.createMailbox(input.address, input.displayName));
    if (input.provider === 'microsoft')
      return graphMailboxView(this.s.graph.createMailbox(input.address, input.displayName));
    throw new Error(`unknown provider ${String(input.provider)}`);
  }

  /** Many mailboxes of one provider in one call (a bench connects thousands); the existing ones are kept. */
  createMailboxes(input: { provider: ProviderName; addresses: readonly string[] }): { created: number } {
    for (const address of input.addresses) this.createMailbox({ provider: input.provider, address });
    return { created: input.addresses.length };
  }

  /** How many Gmail mailboxes have a live watch: the last step of a connect, so a caller can wait for them all. */
  watchedGmailMailboxes(): number {
    const now = this.s.clock.now();
    return this.s.gmail.list().filter((m) => m.watch !== undefined && m.watch.expiration > now).length;
  }

  listMailboxes(): { provider: ProviderName; address: string; displayName: string }[] {
    return [
      ...this.s.gmail
        .list()
        .map((m) => ({ provider: 'google' as const, address: m.address, displayName: m.displayName })),
      ...this.s.graph
        .list()
        .map((m) => ({ provider: 'microsoft' as const, address: m.address, displayName: m.displayName })),
    ];
  }

  /** What the mailbox holds: Inbox, Sent and Drafts with headers, text, html and attachments. */
  mailbox(address: string): MailboxView {
    const g = this.s.gmail.get(address);
    if (g) return gmailMailboxView(g);
    const m = this.s.graph.get(address);
    if (m) return graphMailboxView(m);
    throw new Error(`no sandbox mailbox ${address}`);
  }

  private resolve(address: string): { gmail?: GmailMailbox; graph?: GraphMailbox } {
    const gmail = this.s.gmail.get(address);
    const graph = gmail ? undefined : this.s.graph.get(address);
    if (!gmail && !graph) throw new Error(`no sandbox mailbox ${address}`);
    return { gmail, graph };
  }

  // ---- mail ----

  /** Delivers an inbound email into `address` (the envelope recipient), whatever its To header says. */
  async deliver(address: string, input: InboundMessage): Promise<ControlResult> {
    return deliverInbound(this.s, address, this.resolve(address), input);
  }

  /** Many inbound emails in one call, each delivered as {@link deliver} does, in order; answers per item. */
  async bulkDeliver(items: readonly BulkDeliveryItem[]): Promise<BulkDeliveryResult[]> {
    return bulkDeliver(this.s, items);
  }

  /** The owner sends from the provider's UI: a new message, a reply in the thread, or a forward. */
  async send(address: string, input: OwnerMessage): Promise<ControlResult> {
    const { gmail, graph } = this.resolve(address);
    if (graph) return sendFromOutlook(this.s, graph, input);
    return sendFromGmail(this.s, gmail as GmailMailbox, input);
  }

  // ---- message state (SYN-7) ----

  /**
   * The owner reads, marks unread, trashes, restores (from the trash) or deletes (for good) a message in the
   * provider's own UI. Gmail records the label change or deletion in its history and pushes a notification; Outlook
   * changes `isRead` or moves the message to / from Deleted Items (or removes it), which delta and subscriptions see.
   */
  changeMessageState(address: string, idOrHeader: string, action: MessageStateAction): MessageStateView {
    const { gmail, graph } = this.resolve(address);
    if (gmail) {
      const m = gmailByHeader(gmail, idOrHeader);
      if (!m) throw new Error(`no message ${idOrHeader} in ${gmail.address}`);
      const inbound = !m.labelIds.has('SENT');
      if (action === 'read') this.s.gmail.modify(gmail, m, [], ['UNREAD']);
      else if (action === 'unread') this.s.gmail.modify(gmail, m, ['UNREAD'], []);
      else if (action === 'trash') this.s.gmail.modify(gmail, m, ['TRASH'], ['INBOX']);
      else if (action === 'restore') this.s.gmail.modify(gmail, m, inbound ? ['INBOX'] : [], ['TRASH']);
      else if (action === 'delete') this.s.gmail.delete(gmail, m);
      else throw new Error(`unknown message state action ${String(action)}`);
      return this.messageState(address, m.id);
    }
    const mb = graph as GraphMailbox;
    const m = mb.byId(idOrHeader) ?? mb.byInternetMessageId(bracket(idOrHeader));
    if (!m) throw new Error(`no message ${idOrHeader} in ${mb.address}`);
    if (action === 'read' || action === 'unread') {
      m.isRead = action === 'read';
      mb.touch(m);
    } else if (action === 'trash') mb.move(m, 'deleteditems');
    else if (action === 'restore') {
      const own = m.from?.emailAddress.address.toLowerCase() === mb.address.toLowerCase();
      mb.move(m, own ? 'sentitems' : 'inbox');
    } else if (action === 'delete') mb.remove(m);
    else throw new Error(`unknown message state action ${String(action)}`);
    return this.messageState(address, m.immutableId);
  }

  /** A message's state as the provider holds it (`deleted` once it is gone for good). */
  messageState(address: string, id: string): MessageStateView {
    const { gmail, graph } = this.resolve(address);
    if (gmail) {
      const m = gmail.messages.get(id);
      if (!m) return { id, read: false, trashed: false, deleted: true };
      return { id, read: !m.labelIds.has('UNREAD'), trashed: m.labelIds.has('TRASH'), deleted: false };
    }
    const m = (graph as GraphMailbox).byId(id);
    if (!m) return { id, read: false, trashed: false, deleted: true };
    return { id: m.immutableId, read: m.isRead, trashed: m.folder === 'deleteditems', deleted: false };
  }

  /** How many label/read changes clients made through the API (Gmail modify, batchModify, trash; Graph PATCH). */
  modifyCalls(address: string): number {
    const { gmail, graph } = this.resolve(address);
    return gmail ? gmail.modifyCalls : (graph as GraphMailbox).modifyCalls;
  }

  /** Messages that left the sandbox for addresses no sandbox mailbox owns. */
  outbound(): (Omit<OutboundRecord, 'raw'> & { rawBase64: string })[] {
    return this.s.postOffice.outbound.map(({ raw, ...rest }) => ({
      ...rest,
      rawBase64: raw.toString('base64'),
    }));
  }

  // ---- credentials ----

  /** Tokens as if the owner had consented in the browser (skips the authorize dance). */
  issueTokens(address: string, scopes?: string[]): Record<string, unknown> {
    const { gmail } = this.resolve(address);
    if (gmail) {
      return {
        ...this.s.googleAccounts.issueTokens(
          address,
          this.s.config.googleClientId,
          scopes ?? ['openid', 'email', 'profile', 'https://www.googleapis.com/auth/gmail.modify'],
        ),
      };
    }
    return this.s.microsoftAccounts.issueTokens(
      address,
      this.s.config.microsoftClientId,
      scopes ?? ['Mail.ReadWrite', 'Mail.Send', 'User.Read'],
    );
  }

  /** The owner revokes the app (Google) or an admin revokes sessions (Microsoft): refresh fails with invalid_grant. */
  revokeTokens(address: string): number {
    const { gmail } = this.resolve(address);
    return gmail
      ? this.s.googleAccounts.revokeAll(address)
      : this.s.microsoftAccounts.revokeSessions(address);
  }

  expireAccessTokens(address: string): number {
    const { gmail } = this.resolve(address);
    return gmail
      ? this.s.googleAccounts.expireAccessTokens(address)
      : this.s.microsoftAccounts.expireAccessTokens(address);
  }

  expireRefreshTokens(address: string): number {
    const { gmail } = this.resolve(address);
    return gmail
      ? this.s.googleAccounts.expireRefreshTokens(address)
      : this.s.microsoftAccounts.expireRefreshTokens(address);
  }

  /** Google: refresh tokens with Gmail scopes die. Microsoft: sessions are revoked (public clients) — see README. */
  changePassword(address: string): void {
    const { gmail } = this.resolve(address);
    if (gmail) this.s.googleAccounts.changePassword(address);
    else this.s.microsoftAccounts.revokeSessions(address);
  }

  setConsent(provider: ProviderName, settings: Partial<ConsentSettings>): ConsentSettings {
    const key = provider === 'google' ? 'googleConsent' : 'microsoftConsent';
    this.s.settings[key] = { ...this.s.settings[key], ...settings };
    return this.s.settings[key];
  }

  /**
   * CON-7 scenarios: Google's consent screen publishing status ("Testing": 7-day refresh tokens) and a Microsoft
   * tenant whose users may not consent (AADSTS65001 until an admin consents).
   */
  setOAuthPolicy(input: { googleTestingMode?: boolean; microsoftAdminConsentRequired?: boolean }): {
    googleTestingMode: boolean;
    microsoftAdminConsentRequired: boolean;
  } {
    const client = this.s.googleAccounts.clients.get(this.s.config.googleClientId);
    if (client && input.googleTestingMode !== undefined) client.testingMode = input.googleTestingMode;
    if (input.microsoftAdminConsentRequired !== undefined)
      this.s.microsoftAccounts.adminConsentRequired = input.microsoftAdminConsentRequired;
    return {
      googleTestingMode: client?.testingMode ?? false,
      microsoftAdminConsentRequired: this.s.microsoftAccounts.adminConsentRequired,
    };
  }

  /**
   * SND-7: the mailbox's other From addresses. Gmail: send-as aliases (`verified: false` stays `pending`), with their
   * signatures and the primary's. Microsoft: SMTP proxy addresses (always usable; Graph has no signature).
   */
  setSendAs(
    address: string,
    input: {
      aliases: { address: string; displayName?: string; verified?: boolean; signature?: string }[];
      signature?: string;
    },
  ): { gmail?: unknown[]; proxyAddresses?: string[] } {
    const { gmail, graph } = this.resolve(address);
    if (gmail) {
      gmail.sendAs = input.aliases.map((a) => ({
        sendAsEmail: a.address,
        displayName: a.displayName ?? '',
        replyToAddress: '',
        signature: a.signature ?? '',
        isDefault: false,
        treatAsAlias: true,
        verificationStatus: a.verified === false ? 'pending' : 'accepted',
      }));
      if (input.signature !== undefined) gmail.primarySignature = input.signature;
      return { gmail: gmail.sendAsList() };
    }
    if (!graph) throw new Error(`no sandbox mailbox ${address}`);
    graph.aliases = input.aliases.map((a) => a.address);
    return { proxyAddresses: graph.proxyAddresses() };
  }

  /** The tenant administrator withdraws every admin consent given so far. */
  resetAdminConsent(): void {
    this.s.microsoftAccounts.revokeAdminConsent();
  }

  // ---- sync state ----

  /** Gmail: every earlier startHistoryId now gets 404 from history.list. */
  expireHistory(address: string): void {
    const mb = this.s.gmail.get(address);
    if (!mb) throw new Error(`no Gmail sandbox mailbox ${address}`);
    mb.expireHistory();
  }

  setHistoryRetention(ms: number): void {
    this.s.gmail.historyRetentionMs = ms;
  }

  /** Graph: delta links of the folder (all folders by default) now answer 410 Gone. */
  expireDelta(address: string, folder?: FolderName): void {
    const mb = this.s.graph.get(address);
    if (!mb) throw new Error(`no Microsoft sandbox mailbox ${address}`);
    for (const f of folder ? [folder] : mb.folders.map((x) => x.name))
      mb.deltaEpoch.set(f, (mb.deltaEpoch.get(f) ?? 0) + 1);
  }

  // ---- notifications ----

  /** Points the Pub/Sub push subscription of a topic (the default topic when omitted) at an endpoint. */
  setPushEndpoint(input: {
    pushEndpoint: string;
    topicName?: string;
    audience?: string;
    serviceAccountEmail?: string;
  }): PushTopic {
    const topicName = input.topicName ?? this.s.config.pubsubTopic;
    const existing = this.s.push.topics.get(topicName);
    const project = topicName.split('/')[1] ?? 'sandbox';
    return this.s.push.configureTopic({
      topicName,
      subscription:
        existing?.subscription ??
        `projects/${project}/subscriptions/${topicName.split('/').pop() ?? 'topic'}-push`,
      pushEndpoint: input.pushEndpoint,
      audience: input.audience ?? existing?.audience ?? this.s.config.pushAudience,
      serviceAccountEmail:
        input.serviceAccountEmail ?? existing?.serviceAccountEmail ?? this.s.config.pushServiceAccount,
    });
  }

  /** Drop, delay, duplicate or hold Gmail pushes and/or Graph notifications. */
  setNotificationBehaviour(provider: ProviderName | 'all', behaviour: Partial<DeliveryBehaviour>): void {
    if (provider !== 'microsoft') this.s.push.dispatcher.setBehaviour(behaviour);
    if (provider !== 'google') this.s.subscriptions.dispatcher.setBehaviour(behaviour);
  }

  releaseHeldNotifications(provider: ProviderName | 'all' = 'all'): number {
    let n = 0;
    if (provider !== 'microsoft') n += this.s.push.dispatcher.releaseHeld();
    if (provider !== 'google') n += this.s.subscriptions.dispatcher.releaseHeld();
    return n;
  }

  /** The newest DELIVERY_LOG_LIMIT delivery attempts, oldest first (Pub/Sub pushes / Graph notifications). */
  notifications(provider: ProviderName): DeliveryRecord[] {
    return [...(provider === 'google' ? this.s.push.dispatcher.log : this.s.subscriptions.dispatcher.log)];
  }

  /** Resolves once no notification is waiting or in flight (held ones excluded). */
  async notificationsIdle(): Promise<void> {
    await Promise.all([this.s.push.idle(), this.s.subscriptions.dispatcher.idle()]);
  }

  subscriptions(address?: string): GraphSubscription[] {
    return this.s.subscriptions
      .list()
      .filter((s) => !address || s.mailbox.toLowerCase() === address.toLowerCase());
  }

  /** Sends a lifecycle event for one subscription, or every subscription of a mailbox. */
  lifecycle(target: { subscriptionId?: string; mailbox?: string }, event: LifecycleEvent): number {
    const subs = this.s.subscriptions
      .list()
      .filter(
        (s) =>
          s.id === target.subscriptionId ||
          (!!target.mailbox && s.mailbox.toLowerCase() === target.mailbox.toLowerCase()),
      );
    for (const sub of subs) this.s.subscriptions.lifecycle(sub, event, this.s.microsoftAccounts.tenantId);
    return subs.length;
  }

  // ---- failures and limits ----

  injectFault(target: FaultTargetName, spec: FaultSpec): number {
    const injector = this.s.faults[target];
    if (!injector) throw new Error(`unknown fault target ${target}`);
    return injector.inject(spec);
  }

  clearFaults(target?: FaultTargetName): void {
    for (const [name, injector] of Object.entries(this.s.faults))
      if (!target || name === target) injector.clear();
  }

  setGmailQuota(input: { unitsPerMinute?: number; errorStatus?: 403 | 429; jsonLimitBytes?: number }): void {
    if (input.unitsPerMinute !== undefined) this.s.quota.unitsPerMinute = input.unitsPerMinute;
    if (input.errorStatus !== undefined) this.s.settings.quotaErrorStatus = input.errorStatus;
    if (input.jsonLimitBytes !== undefined) this.s.settings.gmailJsonLimitBytes = input.jsonLimitBytes;
  }

  setGraphLimits(input: {
    concurrencyLimit?: number;
    requestsPer10Minutes?: number;
    latencyMs?: number;
  }): void {
    if (input.concurrencyLimit !== undefined) this.s.throttle.concurrencyLimit = input.concurrencyLimit;
    if (input.requestsPer10Minutes !== undefined)
      this.s.throttle.requestsPerWindow = input.requestsPer10Minutes;
    if (input.latencyMs !== undefined) this.s.settings.graphLatencyMs = input.latencyMs;
  }
}
