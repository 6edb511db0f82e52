import fc from 'fast-check';
import {
  applyStateChange,
  compareStateChanges,
  mergeMailboxStates,
  type MailboxStateRegisters,
  STATE_FLAGS,
  type StateChange,
  stateChangesBetween,
  viewOfMailboxState,
} from './mailbox-state.rule';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const SEED = process.env.PROPERTY_SEED ? Number(process.env.PROPERTY_SEED) : undefined;

const changeArb = fc.record<StateChange>({
  flag: fc.constantFrom(...STATE_FLAGS),
  value: fc.boolean(),
  // A narrow range of times: ties between the two sides are common.
  at: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_000_006 }),
  origin: fc.constantFrom('mailbox' as const, 'crm' as const),
});

/** The latest change of each flag, by the rule's order: what both sides must end with. */
function latestOf(changes: readonly StateChange[]): MailboxStateRegisters {
  const out: Partial<Record<string, StateChange>> = {};
  for (const c of changes) {
    const cur = out[c.flag];
    if (!cur || compareStateChanges(c, cur) > 0) out[c.flag] = c;
  }
  return out as MailboxStateRegisters;
}

describe('mailbox state merge (SYN-7)', () => {
  it('SYN-7: any interleaving of mailbox and CRM changes, with repeats, converges on both sides to the latest change', () => {
    fc.assert(
      fc.property(
        fc.array(changeArb, { minLength: 1, maxLength: 30 }),
        // Delivery schedule: which side receives which change when (indices into the changes), with repeats.
        fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 80 }),
        (changes, schedule) => {
          // Each side first makes its own changes, in its own order.
          let mailbox: MailboxStateRegisters = {};
          let crm: MailboxStateRegisters = {};
          for (const c of changes) {
            if (c.origin === 'mailbox') mailbox = applyStateChange(mailbox, c);
            else crm = applyStateChange(crm, c);
          }
          // Then changes cross over in an arbitrary interleaving (echoes and redeliveries included) ...
          for (const [i, toCrm] of schedule) {
            const c = changes[i % changes.length];
            if (toCrm) crm = applyStateChange(crm, c);
            else mailbox = applyStateChange(mailbox, c);
          }
          // ... and finally everything has reached everyone (at-least-once), in reverse order for good measure.
          for (const c of [...changes].reverse()) {
            crm = applyStateChange(crm, c);
            mailbox = applyStateChange(mailbox, c);
          }
          const expected = latestOf(changes);
          expect(crm).toEqual(expected);
          expect(mailbox).toEqual(expected);
          expect(viewOfMailboxState(crm)).toEqual(viewOfMailboxState(mailbox));
        },
      ),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
  });

  it('SYN-7: merging replicas is commutative, associative and idempotent', () => {
    const replica = fc
      .array(changeArb, { maxLength: 8 })
      .map((cs) => cs.reduce<MailboxStateRegisters>(applyStateChange, {}));
    fc.assert(
      fc.property(replica, replica, replica, (a, b, c) => {
        expect(mergeMailboxStates(a, b)).toEqual(mergeMailboxStates(b, a));
        expect(mergeMailboxStates(mergeMailboxStates(a, b), c)).toEqual(
          mergeMailboxStates(a, mergeMailboxStates(b, c)),
        );
        expect(mergeMailboxStates(a, a)).toEqual(a);
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
  });

  it('SYN-7: an older change never overrides a newer one; a tie goes to the mailbox', () => {
    const t = Date.parse('2026-12-06T09:00:00Z');
    let s = applyStateChange({}, { flag: 'read', value: true, at: t + 10, origin: 'crm' });
    s = applyStateChange(s, { flag: 'read', value: false, at: t + 5, origin: 'mailbox' });
    expect(viewOfMailboxState(s)).toMatchObject({ read: true, changedAt: new Date(t + 10).toISOString() });
    s = applyStateChange(s, { flag: 'read', value: false, at: t + 10, origin: 'mailbox' });
    expect(viewOfMailboxState(s).read).toBe(false);
    expect(viewOfMailboxState({})).toEqual({ read: false, trashed: false, deleted: false, changedAt: null });
  });

  it('SYN-7: only the flags that differ from the known state are changes', () => {
    expect(
      stateChangesBetween(
        { read: true, trashed: false },
        { read: true, trashed: true, deleted: false },
        7,
        'mailbox',
      ),
    ).toEqual([
      { flag: 'trashed', value: true, at: 7, origin: 'mailbox' },
      { flag: 'deleted', value: false, at: 7, origin: 'mailbox' },
    ]);
  });
});
