/**
 * SYN-7, state both ways: read / trashed / deleted of a synced message, mirrored between the mailbox and the CRM.
 *
 * Each flag is a last-writer-wins register: a change carries the time it was made (the provider's change time, or
 * when we observed it when the provider gives none) and where it was made. Merging keeps, per flag, the change
 * that is latest by `(at, origin, value)`: a total order, so the merge is commutative, associative and idempotent and
 * every replica that has seen the same changes holds the same state, whatever the arrival order or repeats.
 * Ties: the mailbox wins over the CRM (it is where the message lives), then `true` over `false`.
 */
export type StateFlag = 'read' | 'trashed' | 'deleted';
export type StateOrigin = 'mailbox' | 'crm';

export interface StateChange {
  readonly flag: StateFlag;
  readonly value: boolean;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly origin: StateOrigin;
}

/** One register per flag; absent until a change of that flag is known. */
export type MailboxStateRegisters = Readonly<Partial<Record<StateFlag, StateChange>>>;

export interface MailboxStateView {
  readonly read: boolean;
  readonly trashed: boolean;
  readonly deleted: boolean;
  /** The latest change of any flag (ISO), null when none is known. */
  readonly changedAt: string | null;
}

export const STATE_FLAGS: readonly StateFlag[] = ['read', 'trashed', 'deleted'];

const ORIGIN_RANK: Record<StateOrigin, number> = { crm: 0, mailbox: 1 };

/** Total order of changes of one flag: > 0 when `a` wins over `b`. */
export function compareStateChanges(a: StateChange, b: StateChange): number {
  return a.at - b.at || ORIGIN_RANK[a.origin] - ORIGIN_RANK[b.origin] || Number(a.value) - Number(b.value);
}

/** Applies one change: kept only when it wins over what the register holds (an older or repeated change is a no-op). */
export function applyStateChange(state: MailboxStateRegisters, change: StateChange): MailboxStateRegisters {
  const current = state[change.flag];
  if (current && compareStateChanges(change, current) <= 0) return state;
  return { ...state, [change.flag]: change };
}

/** Merges two replicas' registers: the same as applying every change of both, in any order. */
export function mergeMailboxStates(
  a: MailboxStateRegisters,
  b: MailboxStateRegisters,
): MailboxStateRegisters {
  return STATE_FLAGS.reduce<MailboxStateRegisters>((acc, flag) => {
    const change = b[flag];
    return change ? applyStateChange(acc, change) : acc;
  }, a);
}

/** What the CRM shows: unknown flags read as false (a message nobody changed is unread, not trashed, present). */
export function viewOfMailboxState(state: MailboxStateRegisters): MailboxStateView {
  const latest = STATE_FLAGS.map((f) => state[f]?.at).filter((t): t is number => t !== undefined);
  return {
    read: state.read?.value ?? false,
    trashed: state.trashed?.value ?? false,
    deleted: state.deleted?.value ?? false,
    changedAt: latest.length > 0 ? new Date(Math.max(...latest)).toISOString() : null,
  };
}

/** The changes that turn a known state into an observed full state (flags whose value differs, or were unknown). */
export function stateChangesBetween(
  known: Partial<Record<StateFlag, boolean>>,
  observed: Partial<Record<StateFlag, boolean>>,
  at: number,
  origin: StateOrigin,
): StateChange[] {
  return STATE_FLAGS.filter((f) => observed[f] !== undefined && observed[f] !== known[f]).map((flag) => ({
    flag,
    value: observed[flag] as boolean,
    at,
    origin,
  }));
}
