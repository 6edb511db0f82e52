import type { PayloadOf, messageDecidedV1 } from '@mailbridge/contracts';
import type { StoredDecision } from './message-decision.repository';

export type LedgerOutcome = Pick<
  PayloadOf<typeof messageDecidedV1>,
  'outcome' | 'rule' | 'reason' | 'conversations'
>;

/**
 * The one terminal outcome mail-gateway's ledger keeps for a decided message (SYN-10): `synced` when it went into
 * conversations, `skipped` when the CRM was told why not (a published skip), else `not_synced` with the rule that
 * said no. A parked message (SYN-6) is `not_synced` until its thread is bound; deciding it again sends a new outcome.
 */
export function ledgerOutcomeOf(decision: StoredDecision): LedgerOutcome {
  if (decision.outcome === 'parked') {
    return { outcome: 'not_synced', rule: 'SYN-6', reason: 'parked', conversations: 0 };
  }
  if (decision.outcome === 'delivered' && decision.deliveries.length > 0) {
    return {
      outcome: 'synced',
      rule: (decision.deliveries[0].rule ?? decision.rules[0] ?? 'SYN-2').slice(0, 16),
      reason: null,
      conversations: decision.deliveries.length,
    };
  }
  const published = decision.skips.find((s) => s.publish);
  const skip = published ?? decision.skips[0];
  return {
    outcome: published ? 'skipped' : 'not_synced',
    rule: (skip?.rule ?? decision.rules[0] ?? 'SYN-10').slice(0, 16),
    reason: (skip?.reason ?? 'no_rule').slice(0, 64),
    conversations: 0,
  };
}
