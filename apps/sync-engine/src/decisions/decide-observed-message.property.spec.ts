import fc from 'fast-check';
import { conversationIdFor } from '@mailbridge/contracts';
import { attachment, canonical, MB, observed, policy } from '../testing/builders';
import { decideObservedMessage, isLive, owningContact } from './decide-observed-message';
import type {
  BindingView,
  ConnectionView,
  ContactView,
  ObservedDecision,
  ObservedDecisionInput,
} from './decision.types';
import { lookupKeys } from './thread-keys';

const OWNER = 'me@box.example';
const MAILBOX = `google:${OWNER}`;
const LOCATIONS = ['loc_a', 'loc_b', 'loc_c'];
const USERS = ['usr_1', 'usr_2'];
const ADDRESSES = ['ann@x.example', 'Bob@x.example', 'cy@y.example', 'dee@y.example', OWNER];

const address = fc.constantFrom(...ADDRESSES).map((a) => ({ address: a }));

const contactArb: fc.Arbitrary<ContactView> = fc.record({
  locationId: fc.constantFrom(...LOCATIONS),
  contactId: fc.constantFrom('ct_1', 'ct_2', 'ct_3', 'ct_4', 'ct_5'),
  emailNormalized: fc.constantFrom(...ADDRESSES.slice(0, 4)).map((a) => a.toLowerCase()),
  assignedUserId: fc.option(fc.constantFrom(...USERS), { nil: null }),
  createdAt: fc.integer({ min: 0, max: 5 }).map((d) => new Date(Date.UTC(2026, 0, 1 + d)).toISOString()),
});

const connectionArb: fc.Arbitrary<ConnectionView> = fc.record({
  connectionId: fc.uuid(),
  locationId: fc.constantFrom(...LOCATIONS),
  userId: fc.constantFrom(...USERS),
  provider: fc.constant('google' as const),
  emailNormalized: fc.constant(OWNER),
  mailboxKey: fc.constantFrom(MAILBOX, MAILBOX, MAILBOX, 'google:other@box.example'),
  syncScope: fc.constantFrom('contact_mail' as const, 'crm_threads' as const),
  status: fc.constantFrom(
    'active' as const,
    'active' as const,
    'reauth_required' as const,
    'disconnected' as const,
    'replaced' as const,
  ),
});

const inputArb: fc.Arbitrary<ObservedDecisionInput> = fc
  .record({
    direction: fc.constantFrom('inbound' as const, 'outbound' as const),
    from: address,
    to: fc.array(address, { maxLength: 3 }),
    cc: fc.array(address, { maxLength: 2 }),
    bcc: fc.array(address, { maxLength: 2 }),
    threadId: fc.option(fc.constantFrom('t1', 't2'), { nil: null }),
    inReplyTo: fc.option(fc.constantFrom('<p1@x>', '<p2@x>'), { nil: null }),
    sizes: fc.array(
      fc.record({
        size: fc.integer({ min: 0, max: 30 * MB }),
        kind: fc.constantFrom('pdf', 'png', 'unknown', undefined),
      }),
      { maxLength: 2 },
    ),
    connections: fc.uniqueArray(connectionArb, { maxLength: 4, selector: (c) => c.connectionId }),
    contacts: fc.uniqueArray(contactArb, { maxLength: 8, selector: (c) => `${c.locationId}/${c.contactId}` }),
    bindingSeeds: fc.oneof(
      fc.constant([]),
      fc.array(
        fc.record({
          bindingId: fc.uuid(),
          connection: fc.nat(),
          contact: fc.constantFrom('ct_1', 'ct_2'),
          status: fc.constantFrom('active' as const, 'active' as const, 'ended' as const),
          endReason: fc.constantFrom(
            'connection_disconnected' as const,
            'connection_replaced' as const,
            'rebound_elsewhere' as const,
          ),
          key: fc.nat(),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    ),
    strip: fc.subarray(LOCATIONS),
  })
  .map((g) => {
    const message = canonical({
      providerThreadId: g.threadId,
      inReplyTo: g.inReplyTo,
      references: g.inReplyTo ? ['<root@x>', g.inReplyTo] : [],
      from: g.from,
      to: g.to,
      cc: g.cc,
      bcc: g.bcc,
      attachments: g.sizes.map((s, i) =>
        attachment({ filename: `f${i}`, size: s.size, detectedKind: s.kind }),
      ),
    });
    const keys = lookupKeys(message).map((k) => k.key);
    const bindings: BindingView[] = [];
    const keyMatches: ObservedDecisionInput['keyMatches'][number][] = [];
    for (const seed of g.bindingSeeds) {
      const conn = g.connections[seed.connection % Math.max(1, g.connections.length)];
      if (!conn || keys.length === 0) continue;
      bindings.push({
        bindingId: seed.bindingId,
        mailboxKey: MAILBOX,
        locationId: conn.locationId,
        connectionId: conn.connectionId,
        userId: conn.userId,
        contactId: seed.contact,
        conversationId: conversationIdFor(conn.locationId, seed.contact),
        originRule: 'SYN-1',
        status: seed.status,
        endReason: seed.status === 'ended' ? seed.endReason : null,
      });
      keyMatches.push({ key: keys[seed.key % keys.length], bindingId: seed.bindingId });
    }
    return {
      observed: observed({ mailboxKey: MAILBOX, mailboxAddress: OWNER, direction: g.direction, message }),
      connections: g.connections,
      bindings,
      keyMatches,
      contacts: g.contacts,
      crmSends: [],
      smartBccAddresses: new Set<string>(),
      policy: policy({ stripLocations: new Set(g.strip) }),
    };
  });

/** A fresh copy of an input (sets rebuilt, objects cloned), optionally with every list shuffled. */
function copy(input: ObservedDecisionInput, order: (n: number) => number[] = (n) => [...Array(n).keys()]) {
  const reorder = <T>(list: readonly T[]) => order(list.length).map((i) => structuredClone(list[i]));
  return {
    ...structuredClone({ ...input, smartBccAddresses: undefined, policy: undefined }),
    connections: reorder(input.connections),
    contacts: reorder(input.contacts),
    bindings: reorder(input.bindings),
    keyMatches: reorder(input.keyMatches),
    smartBccAddresses: new Set(input.smartBccAddresses),
    policy: { ...input.policy, stripLocations: new Set(input.policy.stripLocations) },
  } as ObservedDecisionInput;
}

/** What a decision does, independent of the order it lists things in. */
const effect = (d: ObservedDecision) => ({
  deliveries: [...d.deliveries].sort((a, b) => a.deliveryId.localeCompare(b.deliveryId)),
  skips: d.skips.map((s) => JSON.stringify(s)).sort(),
  newBindings: d.newBindings.map((b) => JSON.stringify(b)).sort(),
  keyAdditions: d.keyAdditions.map((a) => JSON.stringify(a)).sort(),
  contactRequests: d.contactRequests,
  park: d.park,
});

describe('decideObservedMessage properties', () => {
  it('is deterministic: the same input twice gives the same decision, ids included', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(decideObservedMessage(copy(input))).toEqual(decideObservedMessage(input));
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order its inputs were loaded in', () => {
    fc.assert(
      fc.property(
        inputArb,
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        (input, randoms) => {
          const shuffle = (n: number) =>
            [...Array(n).keys()]
              .map((i) => ({ i, r: randoms.next().value as number }))
              .sort((a, b) => a.r - b.r)
              .map((x) => x.i);
          expect(effect(decideObservedMessage(copy(input, shuffle)))).toEqual(
            effect(decideObservedMessage(input)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('SYN-3, SYN-4: never delivers to a location where the counterpart is not a contact assigned to the user, outside a synced thread', () => {
    const seen = { fresh: 0, bound: 0 };
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decideObservedMessage(input);
        const m = input.observed.message;
        const counterparts = (
          input.observed.direction === 'inbound' ? [m.from!] : [...m.to, ...m.cc, ...m.bcc]
        ).map((a) => a.address.toLowerCase());
        for (const delivery of d.deliveries) {
          if (delivery.rule === 'SYN-2') {
            seen.bound++;
            // Through a synced thread: an active binding of that location whose connection still syncs.
            const b = input.bindings.find((x) => x.bindingId === delivery.bindingId);
            expect(b).toBeDefined();
            expect(b!.status).toBe('active');
            expect(b!.locationId).toBe(delivery.locationId);
            const conn = input.connections.find((c) => c.connectionId === b!.connectionId);
            expect(conn === undefined || isLive(conn)).toBe(true);
            continue;
          }
          expect(['SYN-3', 'SYN-4', 'ADR-4']).toContain(delivery.rule);
          seen.fresh++;
          expect(input.bindings).toEqual([]); // a thread ever bound is decided by its bindings only
          const conn = input.connections.find((c) => c.connectionId === delivery.connectionId)!;
          expect(isLive(conn) && conn.mailboxKey === MAILBOX && conn.syncScope === 'contact_mail').toBe(true);
          expect(conn.locationId).toBe(delivery.locationId);
          const contact = input.contacts.find(
            (c) => c.locationId === delivery.locationId && c.contactId === delivery.contactId,
          )!;
          expect(contact.assignedUserId).toBe(conn.userId);
          expect(counterparts).toContain(contact.emailNormalized);
          expect(contact.emailNormalized).not.toBe(OWNER);
          // ADR-3: the contact owns its address in that location.
          expect(owningContact(input.contacts, contact.locationId, contact.emailNormalized)).toEqual(contact);
        }
        // Only Auto-BCC creates contacts; a skipped message binds nothing.
        expect(d.contactRequests).toEqual([]);
        if (d.deliveries.length === 0) expect(d.newBindings).toEqual([]);
      }),
      { numRuns: 1000 },
    );
    // The generator reaches every path (otherwise the property would hold vacuously).
    expect(seen.fresh).toBeGreaterThan(5);
    expect(seen.bound).toBeGreaterThan(5);
  });

  it('ATT-1: a delivered message never carries an attachment above its provider limit', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        for (const delivery of decideObservedMessage(input).deliveries) {
          for (const a of delivery.message.attachments) {
            if (a.objectKey) expect(a.size).toBeLessThanOrEqual(25 * MB);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
