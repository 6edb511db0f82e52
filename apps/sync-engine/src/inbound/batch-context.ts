import type {
  BindingView,
  ConnectionView,
  ContactView,
  CrmSendView,
  KeyMatch,
  ObservedDecision,
  ObservedMessage,
} from '../decisions/decision.types';
import { lookupKeys, messageKey, parkKeys } from '../decisions/thread-keys';
import type { StoredDecision } from './message-decision.repository';
import { messageAddresses, type SyncContext } from './sync-context.repository';

/** A thread key as stored (sync_engine.thread_key). */
export interface StoredKey {
  readonly mailboxKey: string;
  readonly key: string;
  readonly bindingId: string;
  readonly firstAt: string | null;
  readonly providerMessageId: string | null;
}

/** What BatchContextRepository read for a whole batch: a superset of every message's SyncContext. */
export interface BatchSnapshot {
  readonly connections: readonly ConnectionView[];
  readonly keys: readonly StoredKey[];
  readonly bindings: readonly BindingView[];
  /** Live contacts. */
  readonly contacts: readonly ContactView[];
  /** `location\0contact` of deleted contacts (what a new binding to them shows as contactDeleted). */
  readonly deletedContacts: ReadonlySet<string>;
  readonly crmSends: readonly CrmSendView[];
  readonly smartBccAddresses: readonly string[];
  readonly decided: ReadonlyArray<{
    readonly mailboxKey: string;
    readonly providerMessageId: string;
    readonly stored: StoredDecision;
  }>;
  readonly parkedMailboxes: readonly string[];
  /** The keys of parked messages (within retention) that one of the batch's messages' own keys may wake. */
  readonly parkedKeys: ReadonlyArray<{ readonly mailboxKey: string; readonly keys: readonly string[] }>;
}

export interface ChangedKey {
  readonly mailboxKey: string;
  readonly key: string;
}

const pair = (a: string, b: string) => `${a}\u0000${b}`;
const iso = (t: string | null | undefined): string | null => (t ? new Date(t).toISOString() : null);

/** What the decision record keeps of a decision, as a repeat reads it back (SYN-5, SYN-10). */
export function storedOf(decision: ObservedDecision): StoredDecision {
  return {
    outcome: decision.park ? 'parked' : decision.outcome,
    rules: decision.rules,
    deliveries: decision.deliveries.map((d) => ({ rule: d.rule })),
    skips: decision.skips,
  };
}

/**
 * Issue 16: the batch's snapshot plus an in-memory overlay of what the batch's earlier decisions wrote, so each
 * message sees exactly what it would have read had the earlier ones been applied one at a time: thread bindings and
 * keys (same merge as ThreadBindingRepository.save), decisions (repeats), parked mailboxes, learned smart-BCC
 * addresses. Pure: no I/O.
 */
export class BatchContext {
  private readonly keys = new Map<string, StoredKey[]>();
  private readonly bindings = new Map<string, BindingView>();
  private readonly decided = new Map<string, StoredDecision>();
  private readonly parked: Set<string>;
  private readonly smartBcc: Set<string>;
  private readonly parkedKeys: Array<{ readonly mailboxKey: string; readonly keys: readonly string[] }>;

  constructor(private readonly snapshot: BatchSnapshot) {
    for (const k of snapshot.keys) this.addKey(k);
    for (const b of snapshot.bindings) this.bindings.set(b.bindingId, b);
    for (const d of snapshot.decided) this.decided.set(pair(d.mailboxKey, d.providerMessageId), d.stored);
    this.parked = new Set(snapshot.parkedMailboxes);
    this.smartBcc = new Set(snapshot.smartBccAddresses);
    this.parkedKeys = [...snapshot.parkedKeys];
  }

  /**
   * Whether the single path would find parked messages to decide again after these keys changed (its takeParked):
   * a parked message of the mailbox carrying one of them.
   */
  wakes(changed: readonly ChangedKey[]): boolean {
    return changed.some((c) =>
      this.parkedKeys.some((p) => p.mailboxKey === c.mailboxKey && p.keys.includes(c.key)),
    );
  }

  /** The stored decision of this message, when it was decided before (in the database or earlier in the batch). */
  storedDecision(observed: ObservedMessage): StoredDecision | undefined {
    return this.decided.get(pair(observed.mailboxKey, observed.message.providerMessageId));
  }

  /**
   * The single path's SyncContext for a mailbox message, or null when the overlay cannot answer it exactly (a key
   * names a binding the batch never read): the caller then takes the single path for it.
   */
  contextFor(observed: ObservedMessage): SyncContext | null {
    const m = observed.message;
    const mailbox = observed.mailboxKey;
    const connections = this.snapshot.connections.filter((c) => c.mailboxKey === mailbox);
    const keyMatches: KeyMatch[] = [];
    const bindings = new Map<string, BindingView>();
    for (const { key } of lookupKeys(m)) {
      for (const k of this.keys.get(pair(mailbox, key)) ?? []) {
        const b = this.bindings.get(k.bindingId);
        if (!b) return null;
        bindings.set(b.bindingId, b);
        keyMatches.push({ key, bindingId: k.bindingId, firstAt: k.firstAt });
      }
    }
    const addresses = new Set(messageAddresses(observed));
    const locations = new Set(connections.map((c) => c.locationId));
    const ref = m.mailbridgeRef?.toLowerCase() ?? null;
    return {
      connections: [...connections],
      bindings: [...bindings.values()],
      keyMatches,
      contacts: this.snapshot.contacts.filter(
        (c) => addresses.has(c.emailNormalized) && locations.has(c.locationId),
      ),
      crmSends: this.snapshot.crmSends.filter(
        (s) => (!!m.rfcMessageId && s.rfcMessageId === m.rfcMessageId) || s.sendId.toLowerCase() === ref,
      ),
      smartBccAddresses: new Set([...addresses].filter((a) => this.smartBcc.has(a))),
      messageIdTaken:
        !!m.rfcMessageId && (this.keys.get(pair(mailbox, messageKey(m.rfcMessageId)))?.length ?? 0) > 0,
      alreadyDecided: this.decided.has(pair(mailbox, m.providerMessageId)),
      hasParked: this.parked.has(mailbox),
    };
  }

  /**
   * What applying this decision writes, as the next message of the batch would read it. Returns the keys it added or
   * changed (what ThreadBindingRepository.save returns).
   */
  applied(observed: ObservedMessage, decision: ObservedDecision): ChangedKey[] {
    const changed: ChangedKey[] = [];
    for (const b of decision.newBindings) {
      // ON CONFLICT DO NOTHING: a binding already there stays as it is.
      if (this.bindings.has(b.bindingId)) continue;
      this.bindings.set(b.bindingId, {
        bindingId: b.bindingId,
        mailboxKey: b.mailboxKey,
        locationId: b.locationId,
        connectionId: b.connectionId,
        userId: b.userId,
        contactId: b.contactId,
        conversationId: b.conversationId,
        originRule: b.originRule,
        originAt: iso(b.originAt),
        status: 'active',
        endReason: null,
        ...(this.snapshot.deletedContacts.has(pair(b.locationId, b.contactId))
          ? { contactDeleted: true }
          : {}),
      });
    }
    for (const a of [...decision.newBindings, ...decision.keyAdditions]) {
      for (const k of a.keys) {
        const isChanged = this.addKey({
          mailboxKey: a.mailboxKey,
          key: k.key,
          bindingId: a.bindingId,
          firstAt: iso(k.firstAt),
          providerMessageId: k.providerMessageId,
        });
        if (isChanged && !changed.some((c) => c.mailboxKey === a.mailboxKey && c.key === k.key)) {
          changed.push({ mailboxKey: a.mailboxKey, key: k.key });
        }
      }
    }
    this.decided.set(pair(observed.mailboxKey, observed.message.providerMessageId), storedOf(decision));
    if (decision.park) {
      this.parked.add(observed.mailboxKey);
      this.parkedKeys.push({ mailboxKey: observed.mailboxKey, keys: parkKeys(observed.message) });
    }
    if (decision.learnedSmartBcc) this.smartBcc.add(decision.learnedSmartBcc.address);
    return changed;
  }

  /**
   * A key already there keeps its provider message id unless it had none, and its earliest first_at. Returns whether
   * the key is new or changed (the statement's ON CONFLICT … WHERE).
   */
  private addKey(k: StoredKey): boolean {
    const id = pair(k.mailboxKey, k.key);
    const list = this.keys.get(id) ?? [];
    const i = list.findIndex((x) => x.bindingId === k.bindingId);
    let isChanged = true;
    if (i < 0) {
      list.push(k);
    } else {
      const old = list[i];
      const firstAt = earliest(old.firstAt, k.firstAt);
      isChanged = (!old.providerMessageId && !!k.providerMessageId) || firstAt !== old.firstAt;
      list[i] = { ...old, providerMessageId: old.providerMessageId ?? k.providerMessageId, firstAt };
    }
    this.keys.set(id, list);
    return isChanged;
  }
}

/** LEAST ignoring nulls. */
export function earliest(a: string | null, b: string | null): string | null {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b) < Date.parse(a) ? b : a;
}
