import type {
  ContactRequest,
  ConnectionView,
  Delivery,
  KeyAddition,
  BindingKeyValue,
  NewBinding,
  ObservedDecision,
  ObservedDecisionInput,
  Skip,
} from '../decision.types';
import { deliveryIdFor } from '../ids';

/** A connection that still syncs: re-authentication pauses the provider, not the rules (CON-5). */
export const isLive = (c: Pick<ConnectionView, 'status'>): boolean =>
  c.status === 'active' || c.status === 'reauth_required';

/** Accumulates one decision; the decide functions only say what happens and why. */
export class DecisionBuilder {
  private readonly deliveries: Delivery[] = [];
  private readonly skips: Skip[] = [];
  private readonly newBindings: NewBinding[] = [];
  private readonly keyAdditions: KeyAddition[] = [];
  private readonly contactRequests: ContactRequest[] = [];
  private readonly rules = new Set<string>();
  private readonly trace: string[] = [];
  private park = false;
  private messageIdCollision = false;
  private learnedSmartBcc: ObservedDecision['learnedSmartBcc'] = null;

  constructor(private readonly input: ObservedDecisionInput) {}

  step(rule: string, text: string): void {
    this.rules.add(rule);
    this.trace.push(`${rule}: ${text}`);
  }

  note(text: string): void {
    this.trace.push(text);
  }

  /** A rule that applied without a step of its own in the trace. */
  applied(rule: string): void {
    this.rules.add(rule);
  }

  bind(binding: NewBinding): void {
    if (!this.newBindings.some((x) => x.bindingId === binding.bindingId)) this.newBindings.push(binding);
  }

  requestContact(request: ContactRequest): void {
    this.contactRequests.push(request);
  }

  learnSmartBcc(learned: NonNullable<ObservedDecision['learnedSmartBcc']>): void {
    this.learnedSmartBcc = learned;
  }

  /** Loss path 5: the message reuses another message's Message-ID and is kept apart. */
  markMessageIdCollision(): void {
    this.messageIdCollision = true;
  }

  /** Kept aside for a second look (SYN-6) when `yes`. */
  parkWhen(yes: boolean): void {
    this.park = yes;
  }

  get delivered(): number {
    return this.deliveries.length;
  }

  skippedFor(reason: Skip['reason']): boolean {
    return this.skips.some((s) => s.reason === reason);
  }

  deliver(d: Omit<Delivery, 'deliveryId'> & { deliveryId?: string }): void {
    const m = this.input.observed.message;
    // SYN-5: a CRM email seen again (any mailbox) keeps the CRM message's id in its own conversation.
    const crm =
      d.crmMessageId ??
      this.input.crmSends.find(
        (s) => s.conversationId === d.conversationId && s.rfcMessageId === m.rfcMessageId,
      )?.sendId ??
      null;
    const deliveryId = d.deliveryId ?? deliveryIdFor(d.conversationId, m, crm);
    if (this.deliveries.some((x) => x.deliveryId === deliveryId && x.conversationId === d.conversationId))
      return;
    this.rules.add(d.rule);
    this.deliveries.push({ ...d, deliveryId, crmMessageId: crm });
  }

  skip(s: Skip): void {
    this.rules.add(s.rule);
    this.skips.push(s);
    this.trace.push(
      `${s.rule}: skipped${s.locationId ? ` in ${s.locationId}` : ''} (${s.reason}): ${s.detail}`,
    );
  }

  addKeys(bindingId: string, mailboxKey: string, keys: readonly BindingKeyValue[]): void {
    if (keys.length > 0) this.keyAdditions.push({ bindingId, mailboxKey, keys });
  }

  build(): ObservedDecision {
    return {
      outcome: this.deliveries.length > 0 ? 'delivered' : 'skipped',
      deliveries: this.deliveries,
      skips: this.skips,
      newBindings: this.newBindings,
      keyAdditions: this.keyAdditions,
      contactRequests: this.contactRequests,
      park: this.park,
      messageIdCollision: this.messageIdCollision,
      learnedSmartBcc: this.learnedSmartBcc,
      rules: [...this.rules].sort(),
      trace: this.trace,
    };
  }
}
