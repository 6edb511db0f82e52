import type { ObservedDecision, ObservedDecisionInput } from './decision.types';
import { DecisionBuilder } from './observed/decision-builder';
import { decideMailboxMessage } from './observed/mailbox-message.decision';
import { decideSmartBcc } from './observed/smart-bcc.decision';

export { isLive } from './observed/decision-builder';
export { owningContact } from './observed/counterpart';
export { matchBindings } from './observed/bound-thread.decision';

/**
 * The sync rules for one observed message: a pure function of the message, the bindings its keys found, the
 * contacts its addresses match, the connections of its mailbox and the policy. Same input, same output (ids are
 * deterministic); no I/O. See docs/sync-rules-implementation.md for the order of the checks.
 */
export function decideObservedMessage(input: ObservedDecisionInput): ObservedDecision {
  const b = new DecisionBuilder(input);
  if (input.observed.source === 'smart_bcc') decideSmartBcc(input, b);
  else decideMailboxMessage(input, b);
  return b.build();
}
