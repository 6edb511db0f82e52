import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { MailboxView, MailView, ProviderName } from '@mailbridge/sandbox-providers';
import { expectEventually } from '@mailbridge/testing';
import { Platform, api } from './platform.harness';

/** How long a cross-service outcome (provider → gateway → Kafka → sync-engine → conversations) may take on CI. */
export const SYNC_TIMEOUT_MS = 60_000;

/** `expectEventually` with the e2e defaults: cross-process outcomes, polled a few times a second. */
export function eventually<T>(assertion: () => T | Promise<T>, timeoutMs = SYNC_TIMEOUT_MS): Promise<T> {
  return expectEventually(assertion, { timeoutMs, intervalMs: 250 });
}

export interface Address {
  name?: string;
  address: string;
}

/** A message as the CRM API lists it (docs/crm-api.md). */
export interface CrmMessage {
  id: string;
  conversationId: string;
  contactId: string;
  userId: string | null;
  direction: 'inbound' | 'outbound';
  source: 'crm' | 'mailbox' | 'smart_bcc';
  status: 'pending' | 'sent' | 'failed' | 'received' | 'bounced';
  /** SYN-9: who wrote a received message. */
  classification?: 'human' | 'auto_reply' | 'bounce' | 'bulk' | null;
  /** SYN-9: why a CRM send bounced. */
  bounce?: {
    status: string | null;
    diagnostic: string | null;
    recipients: Array<{ address: string; status: string | null; diagnostic: string | null }>;
    bouncedAt: string;
    bounceMessageId: string | null;
  } | null;
  kind: string | null;
  from: Address | null;
  to: Address[];
  cc: Address[];
  bcc?: Address[];
  subject: string;
  text: string | null;
  html: string | null;
  sentAt: string | null;
  receivedAt: string | null;
  /** When the CRM recorded it (for a CRM send: when it was requested). */
  createdAt: string;
  attachments: Array<{
    id: string;
    filename: string;
    contentType: string;
    size: number;
    omittedReason?: string;
  }>;
  provider: { name: string | null; messageId: string | null; threadId: string | null };
  failure: { code: string; message: string } | null;
}

export interface SyncEvent {
  id: string;
  kind: 'message_skipped' | 'send_failed' | 'sync_gap';
  reason: string;
  rule: string | null;
  detail: string | null;
  contactId: string | null;
  userId: string | null;
  connectionId: string | null;
  messageId: string | null;
  providerMessageId: string | null;
  subject: string | null;
  from: string | null;
}

export interface ConnectionStatus {
  connectionId: string;
  provider: ProviderName;
  emailAddress: string;
  status: 'active' | 'reauth_required' | 'disconnected';
  connectedAt: string;
  lastSyncedAt: string | null;
  lastError: { code: string; message: string; at: string } | null;
  syncScope: 'crm_threads' | 'contact_mail';
}

export interface SendBody {
  kind?: 'individual' | 'bulk' | 'workflow';
  userId?: string;
  from?: Address;
  to?: Address[];
  cc?: Address[];
  bcc?: Address[];
  subject: string;
  text?: string;
  html?: string;
  attachments?: Array<
    { filename: string; contentType: string; contentBase64: string } | { uploadId: string }
  >;
  replyToMessageId?: string;
}

const RETURN_URL = 'http://localhost/e2e/connected';

/** One CRM user acting in one location, through the CRM HTTP API only (as the CRM gateway calls it). */
export class CrmUser {
  constructor(
    readonly platform: Platform,
    readonly locationId: string,
    readonly userId: string,
  ) {}

  get token(): string {
    return this.platform.token(this.locationId, this.userId);
  }

  private get connectionUrl(): string {
    return `${this.platform.urls['identity-connections']}/v1/locations/${this.locationId}/users/${this.userId}/email-connection`;
  }

  private get locationUrl(): string {
    return `${this.platform.urls.conversations}/v1/locations/${this.locationId}`;
  }

  // ---- connection (identity-connections) ----

  /**
   * The OAuth dance as the user's browser does it: ask for the authorize URL, go to the provider's consent screen
   * (the emulator consents at once for the `login_hint` mailbox), follow the redirects back to the return URL.
   */
  async consent(provider: ProviderName, mailbox: string): Promise<URL> {
    const started = await api<{ authorizeUrl: string }>(`${this.connectionUrl}/${provider}/authorize`, {
      method: 'POST',
      token: this.token,
      body: { returnUrl: RETURN_URL },
    });
    if (started.status !== 200)
      throw new Error(`authorize answered ${started.status}: ${JSON.stringify(started.body)}`);
    const authorize = new URL(started.body.authorizeUrl);
    authorize.searchParams.set('login_hint', mailbox);
    let next = authorize.toString();
    for (let hop = 0; hop < 10; hop++) {
      if (next.startsWith(RETURN_URL)) return new URL(next);
      const res = await fetch(next, { redirect: 'manual' });
      const location = res.headers.get('location');
      if (!location)
        throw new Error(`${next} answered ${res.status} without a redirect: ${await res.text()}`);
      next = new URL(location, next).toString();
    }
    throw new Error(`too many redirects, last ${next}`);
  }

  /** Connects (or re-consents, or updates to another mailbox) and returns the connection status once active. */
  async connect(provider: ProviderName, mailbox: string): Promise<ConnectionStatus> {
    const back = await this.consent(provider, mailbox);
    expect(Object.fromEntries(back.searchParams)).toEqual({ status: 'connected' });
    const status = await this.connection();
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ provider, emailAddress: mailbox, status: 'active' });
    return status.body;
  }

  connection() {
    return api<ConnectionStatus>(this.connectionUrl, { token: this.token });
  }

  disconnect() {
    return api<ConnectionStatus>(this.connectionUrl, {
      method: 'DELETE',
      token: this.token,
      body: { confirm: true },
    });
  }

  /** The user's Auto-BCC address (BCC-1). */
  async smartBccAddress(): Promise<string> {
    const res = await api<{ address: string }>(
      `${this.platform.urls['identity-connections']}/v1/locations/${this.locationId}/users/${this.userId}/smart-bcc`,
      { token: this.token },
    );
    expect(res.status).toBe(200);
    return res.body.address;
  }

  setSyncScope(syncScope: 'crm_threads' | 'contact_mail') {
    return api<ConnectionStatus>(this.connectionUrl, {
      method: 'PATCH',
      token: this.token,
      body: { syncScope },
    });
  }

  // ---- contacts, sending, conversations (conversations) ----

  async putContact(
    contactId: string,
    body: { email: string; name?: string; assignedUserId?: string | null; createdAt?: string },
  ): Promise<void> {
    const res = await api(`${this.locationUrl}/contacts/${contactId}`, {
      method: 'PUT',
      token: this.token,
      body,
    });
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`PUT contact answered ${res.status}: ${JSON.stringify(res.body)}`);
  }

  /**
   * Waits until sync-engine's contact projection (internal inspection route) holds these contacts: a scenario that
   * depends on which contact a message matches must not race the contact events it just caused.
   */
  async contactsProjected(contactIds: string[]): Promise<void> {
    await eventually(async () => {
      const res = await api<{ items: Array<{ contactId: string }> }>(
        `${this.platform.urls['sync-engine']}/internal/contacts?locationId=${encodeURIComponent(this.locationId)}`,
        { token: this.platform.internalApiToken },
      );
      expect(res.status).toBe(200);
      expect(res.body.items.map((c) => c.contactId)).toEqual(expect.arrayContaining(contactIds));
    });
  }

  async contactsByEmail(
    email: string,
  ): Promise<
    Array<{ contactId: string; email: string; name: string | null; assignedUserId: string | null }>
  > {
    const res = await api<{
      items: Array<{ contactId: string; email: string; name: string | null; assignedUserId: string | null }>;
    }>(`${this.locationUrl}/contacts?email=${encodeURIComponent(email)}`, { token: this.token });
    expect(res.status).toBe(200);
    return res.body.items;
  }

  /** POST …/emails as the CRM does it; `idempotencyKey` defaults to a fresh one. */
  send(contactId: string, body: SendBody, idempotencyKey: string = randomUUID()) {
    return api<{
      messageId: string;
      conversationId: string;
      status: string;
      error?: { code: string; details?: unknown };
    }>(`${this.locationUrl}/contacts/${contactId}/emails`, {
      method: 'POST',
      token: this.token,
      headers: { 'Idempotency-Key': idempotencyKey },
      body: { kind: 'individual', userId: this.userId, ...body },
    });
  }

  /** Sends, expects the 202, and waits until the platform reports the email sent; returns the CRM message. */
  async sendAndWait(contactId: string, body: SendBody): Promise<CrmMessage> {
    const res = await this.send(contactId, body);
    if (res.status !== 202) throw new Error(`send answered ${res.status}: ${JSON.stringify(res.body)}`);
    return this.waitForStatus(res.body.messageId, 'sent');
  }

  async waitForStatus(messageId: string, status: CrmMessage['status']): Promise<CrmMessage> {
    return eventually(async () => {
      const m = await this.message(messageId);
      if (m?.status === 'failed' && status !== 'failed')
        throw new Error(`message ${messageId} failed: ${JSON.stringify(m.failure)}`);
      expect(m?.status).toBe(status);
      return m!;
    });
  }

  async message(messageId: string): Promise<CrmMessage | undefined> {
    const res = await api<CrmMessage>(`${this.locationUrl}/messages/${messageId}`, { token: this.token });
    if (res.status === 404) return undefined;
    expect(res.status).toBe(200);
    return res.body;
  }

  /** The contact's conversations (there is at most one per contact and location). */
  async conversations(contactId: string): Promise<Array<{ id: string; contactId: string }>> {
    const res = await api<{ items: Array<{ id: string; contactId: string }> }>(
      `${this.locationUrl}/conversations?contactId=${encodeURIComponent(contactId)}`,
      { token: this.token },
    );
    expect(res.status).toBe(200);
    return res.body.items;
  }

  /** Every message of the contact's conversation, in the order the CRM lists them (all pages); [] if none yet. */
  async messages(contactId: string): Promise<CrmMessage[]> {
    const conversations = await this.conversations(contactId);
    expect(conversations.length).toBeLessThanOrEqual(1);
    if (conversations.length === 0) return [];
    const all: CrmMessage[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
      const res = await api<{ items: CrmMessage[]; nextCursor: string | null }>(
        `${this.locationUrl}/conversations/${conversations[0].id}/messages${query}`,
        { token: this.token },
      );
      expect(res.status).toBe(200);
      all.push(...res.body.items);
      cursor = res.body.nextCursor;
    } while (cursor);
    return all;
  }

  async syncEvents(query: { contactId?: string; userId?: string } = {}): Promise<SyncEvent[]> {
    const qs = new URLSearchParams({ limit: '100', ...query }).toString();
    const res = await api<{ items: SyncEvent[] }>(`${this.locationUrl}/sync-events?${qs}`, {
      token: this.token,
    });
    expect(res.status).toBe(200);
    return res.body.items;
  }

  async attachment(
    attachmentId: string,
  ): Promise<{ status: number; bytes: Buffer; contentType: string | null }> {
    const res = await fetch(`${this.locationUrl}/attachments/${attachmentId}`, {
      headers: { Authorization: `Bearer ${this.token}` },
    });
    return {
      status: res.status,
      bytes: Buffer.from(await res.arrayBuffer()),
      contentType: res.headers.get('content-type'),
    };
  }
}

// ---- the provider side: sandbox mailboxes ----

let mailboxCounter = 0;

/** A fresh sandbox mailbox (so scenarios never share an inbox); returns its address. */
export function createMailbox(platform: Platform, provider: ProviderName, name: string): string {
  const domain = provider === 'google' ? 'gmail.sandbox.mailbridge.test' : 'outlook.sandbox.mailbridge.test';
  const address = `${name}-${++mailboxCounter}@${domain}`;
  platform.sandbox.control.createMailbox({ provider, address, displayName: name });
  return address;
}

export function mailbox(platform: Platform, address: string): MailboxView {
  return platform.sandbox.control.mailbox(address);
}

/** Inbox and Sent copies of a mailbox whose subject contains `subject` (a string), or matches it (a RegExp). */
export function copies(
  platform: Platform,
  address: string,
  subject: string | RegExp,
): { inbox: MailView[]; sent: MailView[] } {
  const box = mailbox(platform, address);
  const matches = (m: MailView) =>
    typeof subject === 'string' ? m.subject.includes(subject) : subject.test(m.subject);
  return { inbox: box.inbox.filter(matches), sent: box.sent.filter(matches) };
}

/** The value of a header of a message as the mailbox holds it. */
export function header(message: MailView, name: string): string | undefined {
  return message.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
}

export interface Decisions {
  messages: Array<
    { outcome: string; rules: string[]; skips?: Array<{ reason: string }> } & Record<string, unknown>
  >;
  sends: Array<Record<string, unknown>>;
}

/** sync-engine's record of what it decided for a message (internal inspection route, service credential). */
export async function decisions(platform: Platform, messageId: string): Promise<Decisions> {
  const res = await api<Decisions>(
    `${platform.urls['sync-engine']}/internal/decisions?messageId=${encodeURIComponent(messageId)}`,
    { token: platform.internalApiToken },
  );
  expect(res.status).toBe(200);
  return res.body;
}

let probeCounter = 0;

/**
 * Waits until the platform observes new mail in `address`: right after connecting, the gateway still has to set up
 * the Gmail watch / Graph subscriptions (mail received from the connect instant on is picked up either way; CON-6:
 * mail from before it is never imported).
 * Delivers a probe from a stranger (never synced, SYN-3) until sync-engine has decided one, so everything delivered
 * afterwards is certainly observed through the watch, not the catch-up.
 */
export async function waitUntilObserved(platform: Platform, address: string): Promise<void> {
  await expectEventually(
    async () => {
      const probe = await platform.sandbox.control.deliver(address, {
        from: 'E2E probe <probe@probe.e2e.invalid>',
        subject: `e2e probe ${++probeCounter}`,
        text: 'Is anyone watching this mailbox?',
      });
      await expectEventually(
        async () => expect((await decisions(platform, probe.message.id)).messages).not.toHaveLength(0),
        {
          timeoutMs: 5_000,
          intervalMs: 250,
        },
      );
    },
    { timeoutMs: 120_000, intervalMs: 0 },
  );
}

/**
 * Delivers mail over SMTP to mail-gateway's Auto-BCC receiver, as the sending mail system does once the user's client
 * has put the smart-BCC address in Bcc or Cc (the MX of the smart-BCC domain points there). `raw` is the message as
 * it left the user's mailbox; otherwise one is composed.
 */
export async function deliverToSmartBcc(
  platform: Platform,
  input: {
    envelopeFrom: string;
    envelopeTo: string[];
    raw?: Buffer;
    message?: { from: string; to: string[]; cc?: string[]; bcc?: string[]; subject: string; text: string };
  },
): Promise<void> {
  const transport = nodemailer.createTransport({
    host: platform.smartBccSmtp.host,
    port: platform.smartBccSmtp.port,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({
      envelope: { from: input.envelopeFrom, to: input.envelopeTo },
      ...(input.raw ? { raw: input.raw } : input.message),
    });
  } finally {
    transport.close();
  }
}
