import { decideObservedMessage } from '../decisions/decide-observed-message';
import type { ObservedMessage } from '../decisions/decision.types';
import { SAM_GMAIL_KEY, binding, connection, contact, observed, policy } from '../testing/builders';
import { BatchContext, type BatchSnapshot } from './batch-context';

/** Issue 16: the batch overlay answers each message as the database would after the earlier ones were applied. */
describe('BatchContext (issue 16)', () => {
  const snapshot = (over: Partial<BatchSnapshot> = {}): BatchSnapshot => ({
    connections: [connection()],
    keys: [],
    bindings: [],
    contacts: [contact()],
    deletedContacts: new Set(),
    crmSends: [],
    smartBccAddresses: [],
    decided: [],
    parkedMailboxes: [],
    parkedKeys: [],
    ...over,
  });
  const decide = (ctx: BatchContext, o: ObservedMessage) => {
    const c = ctx.contextFor(o);
    if (!c) throw new Error('no context');
    const decision = decideObservedMessage({ observed: o, ...c, policy: policy() });
    return { c, decision, changed: ctx.applied(o, decision) };
  };
  const first = observed({
    message: { providerMessageId: 'gm-1', providerThreadId: 'th-new', rfcMessageId: '<n1@x>' },
  });
  const reply = observed({
    message: {
      providerMessageId: 'gm-2',
      providerThreadId: 'th-other',
      rfcMessageId: '<n2@x>',
      inReplyTo: '<n1@x>',
      from: { address: 'stranger@example.net' },
      receivedAt: '2026-11-20T09:00:01.000Z',
    },
  });

  it('issue 16: a binding created by an earlier message of the batch is found by the next one through its keys', () => {
    const ctx = new BatchContext(snapshot());
    const one = decide(ctx, first);
    expect(one.decision.newBindings).toHaveLength(1);
    expect(one.changed.map((k) => k.key).sort()).toEqual(
      one.decision.newBindings[0].keys.map((k) => k.key).sort(),
    );
    const two = decide(ctx, reply);
    expect(two.c.bindings.map((b) => b.bindingId)).toEqual([one.decision.newBindings[0].bindingId]);
    expect(two.c.keyMatches).toEqual([
      { key: 'm:<n1@x>', bindingId: one.decision.newBindings[0].bindingId, firstAt: null },
    ]);
    expect(two.decision.deliveries).toHaveLength(1);
  });

  it('issue 16 / SYN-5: a message decided earlier in the batch is a repeat with the stored outcome', () => {
    const ctx = new BatchContext(snapshot());
    expect(ctx.contextFor(first)?.alreadyDecided).toBe(false);
    decide(ctx, first);
    expect(ctx.contextFor(first)?.alreadyDecided).toBe(true);
    expect(ctx.storedDecision(first)?.outcome).toBe('delivered');
  });

  it('issue 16: a key already bound keeps its provider id and earliest first_at; only a real change is reported', () => {
    const b = binding({ bindingId: '00000000-0000-4000-8000-0000000000aa' });
    const key = (k: string, firstAt: string | null, pmid: string | null) => ({
      mailboxKey: SAM_GMAIL_KEY,
      key: k,
      bindingId: b.bindingId,
      firstAt,
      providerMessageId: pmid,
    });
    const ctx = new BatchContext(
      snapshot({ bindings: [b], keys: [key('t:th-1', '2026-11-20T08:00:00.000Z', null)] }),
    );
    const later = observed({ message: { providerMessageId: 'gm-9', rfcMessageId: '<x9@x>' } });
    const { decision, changed } = decide(ctx, later);
    expect(decision.keyAdditions.length).toBeGreaterThan(0);
    // t:th-1 arrives later than the stored first_at: unchanged; its m: and i: keys are new.
    const changedKeys = changed.map((k) => k.key);
    expect(changedKeys).not.toContain('t:th-1');
    expect(changedKeys).toContain('m:<x9@x>');
    expect(changedKeys.some((k) => k.startsWith('i:<x9@x>'))).toBe(true);
    expect(ctx.contextFor(observed({ message: { providerMessageId: 'gm-10' } }))?.keyMatches).toContainEqual({
      key: 't:th-1',
      bindingId: b.bindingId,
      firstAt: '2026-11-20T08:00:00.000Z',
    });
  });

  it('issue 16 / SYN-6: changed keys wake only a parked message of the same mailbox carrying one of them', () => {
    const ctx = new BatchContext(
      snapshot({
        parkedMailboxes: [SAM_GMAIL_KEY],
        parkedKeys: [
          { mailboxKey: SAM_GMAIL_KEY, keys: ['m:<n1@x>'] },
          { mailboxKey: 'google:other@x', keys: ['t:th-new'] },
        ],
      }),
    );
    expect(ctx.wakes([{ mailboxKey: SAM_GMAIL_KEY, key: 't:th-new' }])).toBe(false);
    expect(ctx.wakes([{ mailboxKey: SAM_GMAIL_KEY, key: 'm:<n1@x>' }])).toBe(true);
    expect(ctx.contextFor(first)?.hasParked).toBe(true);
  });

  it('issue 16: a key naming a binding the batch never read leaves the message to the single path', () => {
    const ctx = new BatchContext(
      snapshot({
        keys: [
          {
            mailboxKey: SAM_GMAIL_KEY,
            key: 't:th-1',
            bindingId: '00000000-0000-4000-8000-0000000000ff',
            firstAt: null,
            providerMessageId: null,
          },
        ],
      }),
    );
    expect(ctx.contextFor(observed())).toBeNull();
  });
});
