import { composeMessage, type ComposeAttachment } from '../shared/mime-composer';
import {
  type EmailAddress,
  headerValue,
  parseAddressList,
  parseHeaderBlock,
  parseMessageIds,
  splitMessage,
} from '../shared/mime-headers';
import { extractContent } from '../shared/mime-parser';
import type { ConsentSettings } from '../shared/consent';
import type { FaultSpec } from '../shared/faults';
import type { OutboundRecord } from '../shared/post-office';
import { forwardSubject, replySubject } from '../shared/subject';
import type { DeliveryBehaviour, DeliveryRecord } from '../shared/webhook-dispatcher';
import type { GmailMailbox, GmailMessage } from '../gmail/gmail-mailbox';
import type { PushTopic } from '../gmail/pubsub-push';
import type { FolderName, GraphMailbox, GraphMessage } from '../graph/graph-mailbox';
import type { GraphSubscription, LifecycleEvent } from '../graph/graph-subscriptions';
import {
  gmailMailboxView,
  gmailMailView,
  graphMailboxView,
  graphMailView,
  type MailboxView,
  type MailView,
} from './mail-view';
import type { FaultTargetName, SandboxState } from './sandbox-state';

export type ProviderName = 'google' | 'microsoft';
export type AddressInput = string | { name?: string; address: string };

export interface AttachmentInput {
  filename: string;
  contentType?: string;
  /** Base64 content (the HTTP control API form). */
  contentBase64?: string;
  content?: Buffer | string;
  /** Makes it an inline part referenced as `cid:<contentId>`. */
  contentId?: string;
}

/** An email arriving from anywhere (a contact, a mailing list) into one sandbox mailbox. */
export interface InboundMessage {
  from?: AddressInput;
  to?: AddressInput[];
  cc?: AddressInput[];
  bcc?: AddressInput[];
  replyTo?: AddressInput[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: AttachmentInput[];
  /** Message-ID of the message this one answers; References are derived from it when not given. */
  inReplyTo?: string;
  references?: string[];
  messageId?: string;
  date?: string | Date;
  headers?: Record<string, string>;
  /** A complete RFC 822 message instead of the fields above. */
  raw?: string | Buffer;
  /** The same, base64-encoded (handy over HTTP). */
  rawBase64?: string;
}

/** The mailbox owner acting in the provider's own UI (Gmail web, Outlook), not through our platform. */
export interface OwnerMessage {
  to?: AddressInput[];
  cc?: AddressInput[];
  bcc?: AddressInput[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: AttachmentInput[];
  /** Reply to this message (provider id or Message-ID header) in its thread. */
  replyTo?: string;
  replyAll?: boolean;
  /** Forward this message (provider id or Message-ID header). */
  forward?: string;
}

export type MessageStateAction = 'read' | 'unread' | 'trash' | 'restore' | 'delete';

export interface MessageStateView {
  id: string;
  read: boolean;
  trashed: boolean;
  deleted: boolean;
}

export interface ControlResult {
  mailbox: string;
  message: MailView;
  delivered?: string[];
  external?: string[];
}

const toAddress = (a: AddressInput): EmailAddress =>
  typeof a === 'string'
    ? (parseAddressList(a)[0] ?? { name: '', address: a })
    : { name: a.name ?? '', address: a.address };

function attachments(list: AttachmentInput[] | undefined): ComposeAttachment[] {
  return (list ?? []).map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    content: a.content !== undefined ? Buffer.from(a.content) : Buffer.from(a.contentBase64 ?? '', 'base64'),
    contentId: a.contentId,
  }));
}

function bracket(id: string): string {
  const t = id.trim();
  return t.startsWith('<') ? t : `<${t}>`;
}

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
    const { gmail, graph } = this.resolve(address);
    let raw: Buffer;
    if (input.raw !== undefined || input.rawBase64 !== undefined) {
      raw = input.raw !== undefined ? Buffer.from(input.raw) : Buffer.from(input.rawBase64 ?? '', 'base64');
    } else {
      const from = toAddress(input.from ?? 'contact@example.com');
      const inReplyTo = input.inReplyTo ? bracket(input.inReplyTo) : undefined;
      let references = input.references?.map(bracket);
      if (!references && inReplyTo) {
        const parent = gmail ? this.gmailByHeader(gmail, inReplyTo) : graph?.byInternetMessageId(inReplyTo);
        const parentRefs = parent
          ? 'mime' in parent
            ? parseMessageIds(headerValue(parent.mime.headers, 'references'))
            : parent.references
          : [];
        references = [...parentRefs.filter((r) => r !== inReplyTo), inReplyTo];
      }
      const domain = from.address.split('@')[1] ?? 'example.com';
      raw = await composeMessage({
        from,
        to: (input.to ?? [address]).map(toAddress),
        cc: input.cc?.map(toAddress),
        bcc: input.bcc?.map(toAddress),
        replyTo: input.replyTo?.map(toAddress),
        subject: input.subject ?? '',
        text: input.text,
        html: input.html,
        attachments: attachments(input.attachments),
        messageId: input.messageId
          ? bracket(input.messageId)
          : `<${this.s.ids.alphanumeric(24)}.${this.s.ids.hex(8)}@${domain}>`,
        inReplyTo,
        references,
        date: input.date ? new Date(input.date) : new Date(this.s.clock.now()),
        headers: input.headers,
        keepBcc: false,
      });
    }
    const fromHeader = parseAddressList(headerValue(parseHeadersOf(raw), 'from'))[0]?.address ?? '';
    const stamped = this.s.postOffice.stamp(raw, address, fromHeader);
    if (gmail)
      return { mailbox: gmail.address, message: gmailMailView(this.s.gmail.receive(gmail, stamped)) };
    const box = graph as GraphMailbox;
    return { mailbox: box.address, message: graphMailView(this.s.graph.receive(box, stamped)) };
  }

  /** The owner sends from the provider's UI: a new message, a reply in the thread, or a forward. */
  async send(address: string, input: OwnerMessage): Promise<ControlResult> {
    const { gmail, graph } = this.resolve(address);
    if (graph) return this.sendFromOutlook(graph, input);
    return this.sendFromGmail(gmail as GmailMailbox, input);
  }

  private gmailByHeader(mb: GmailMailbox, idOrHeader: string): GmailMessage | undefined {
    const direct = mb.messages.get(idOrHeader);
    if (direct) return direct;
    const wanted = bracket(idOrHeader).toLowerCase();
    return [...mb.messages.values()].find((m) => m.messageIdHeader?.toLowerCase() === wanted);
  }

  private async sendFromGmail(mb: GmailMailbox, input: OwnerMessage): Promise<ControlResult> {
    const refId = input.replyTo ?? input.forward;
    const original = refId ? this.gmailByHeader(mb, refId) : undefined;
    if (refId && !original) throw new Error(`no message ${refId} in ${mb.address}`);
    let to = input.to?.map(toAddress) ?? [];
    let cc = input.cc?.map(toAddress) ?? [];
    let subject = input.subject;
    let inReplyTo: string | undefined;
    let references: string[] | undefined;
    let extra: ComposeAttachment[] = [];
    if (original) {
      const h = original.mime.headers;
      const originalRefs = parseMessageIds(headerValue(h, 'references'));
      if (original.messageIdHeader) {
        inReplyTo = original.messageIdHeader;
        references = [...originalRefs, original.messageIdHeader];
      }
      if (input.replyTo) {
        subject ??= replySubject(headerValue(h, 'subject'));
        const own = original.labelIds.has('SENT');
        const replyTargets = parseAddressList(headerValue(h, 'reply-to'));
        if (to.length === 0)
          to = own
            ? parseAddressList(headerValue(h, 'to'))
            : replyTargets.length > 0
              ? replyTargets
              : parseAddressList(headerValue(h, 'from'));
        if (input.replyAll) {
          const self = mb.address.toLowerCase();
          to = dedupe([...to, ...parseAddressList(headerValue(h, 'to'))]).filter(
            (a) => a.address.toLowerCase() !== self,
          );
          cc = dedupe([...cc, ...parseAddressList(headerValue(h, 'cc'))]).filter(
            (a) => a.address.toLowerCase() !== self,
          );
        }
      } else {
        subject ??= forwardSubject(headerValue(h, 'subject'));
        extra = extractContent(original.mime).attachments.map((a) => ({
          filename: a.filename,
          contentType: a.contentType,
          content: a.content,
          contentId: a.inline ? a.contentId : undefined,
        }));
      }
    }
    const raw = await composeMessage({
      from: { name: mb.displayName, address: mb.address },
      to,
      cc,
      bcc: input.bcc?.map(toAddress),
      subject: subject ?? '',
      text: input.text,
      html: input.html,
      attachments: [...attachments(input.attachments), ...extra],
      messageId: `<CA${this.s.ids.alphanumeric(20)}+${this.s.ids.alphanumeric(24)}@mail.gmail.com>`,
      inReplyTo,
      references,
      date: new Date(this.s.clock.now()),
      keepBcc: true,
    });
    // The Gmail UI always keeps a reply in its conversation (the thread rule then holds by construction).
    const outcome = await this.s.gmail.send(mb, raw, original?.threadId);
    return {
      mailbox: mb.address,
      message: gmailMailView(outcome.message),
      delivered: outcome.delivered,
      external: outcome.external,
    };
  }

  private async sendFromOutlook(mb: GraphMailbox, input: OwnerMessage): Promise<ControlResult> {
    const refId = input.replyTo ?? input.forward;
    const recipients = (l?: AddressInput[]) => l?.map((a) => ({ emailAddress: toAddress(a) }));
    const files = attachments(input.attachments).map((a) => ({
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: a.filename,
      contentType: a.contentType,
      contentBytes: a.content.toString('base64'),
      isInline: !!a.contentId,
      contentId: a.contentId,
    }));
    const body =
      input.html !== undefined
        ? { contentType: 'html', content: input.html }
        : { contentType: 'text', content: input.text ?? '' };
    let draft: GraphMessage;
    if (refId) {
      const original = mb.byId(refId) ?? mb.byInternetMessageId(bracket(refId));
      if (!original) throw new Error(`no message ${refId} in ${mb.address}`);
      const kind = input.forward ? 'forward' : input.replyAll ? 'replyAll' : 'reply';
      draft = this.s.graph.createReply(mb, original, kind, {
        message: {
          body,
          ...(input.subject ? { subject: input.subject } : {}),
          ...(input.to ? { toRecipients: recipients(input.to) } : {}),
          ...(input.cc ? { ccRecipients: recipients(input.cc) } : {}),
          ...(input.bcc ? { bccRecipients: recipients(input.bcc) } : {}),
          ...(files.length > 0 ? { attachments: files } : {}),
        },
      });
    } else {
      draft = this.s.graph.createDraft(mb, {
        subject: input.subject,
        body,
        toRecipients: recipients(input.to),
        ccRecipients: recipients(input.cc),
        bccRecipients: recipients(input.bcc),
        attachments: files,
      });
    }
    const before = this.s.postOffice.outbound.length;
    await this.s.graph.sendDraft(mb, draft);
    const external = this.s.postOffice.outbound.slice(before).flatMap((o) => o.recipients);
    return { mailbox: mb.address, message: graphMailView(draft), external };
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
      const m = this.gmailByHeader(gmail, idOrHeader);
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

  /** Every delivery attempt so far (Pub/Sub pushes for google, Graph notifications for microsoft). */
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

function dedupe(list: EmailAddress[]): EmailAddress[] {
  const seen = new Set<string>();
  return list.filter((a) => {
    const k = a.address.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function parseHeadersOf(raw: Buffer) {
  return parseHeaderBlock(splitMessage(raw).head);
}
