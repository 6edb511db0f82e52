import type { Clock } from '../shared/clock';
import type { ConsentSettings } from '../shared/consent';
import type { FaultInjector } from '../shared/faults';
import type { IdFactory } from '../shared/id-factory';
import type { PostOffice } from '../shared/post-office';
import type { GmailQuota } from '../gmail/gmail-quota';
import type { GmailService } from '../gmail/gmail-service';
import type { PubSubPush } from '../gmail/pubsub-push';
import type { GoogleAccounts } from '../google/google-accounts';
import type { GraphService } from '../graph/graph-service';
import type { GraphSubscriptions } from '../graph/graph-subscriptions';
import type { GraphThrottle } from '../graph/graph-throttle';
import type { MicrosoftAccounts } from '../microsoft/microsoft-accounts';

export type FaultTargetName = 'gmail' | 'graph' | 'google-oauth' | 'microsoft-identity';

/** Everything the emulators share; the control API reads and flips it. */
export interface SandboxState {
  clock: Clock;
  ids: IdFactory;
  postOffice: PostOffice;
  googleAccounts: GoogleAccounts;
  gmail: GmailService;
  quota: GmailQuota;
  push: PubSubPush;
  microsoftAccounts: MicrosoftAccounts;
  graph: GraphService;
  subscriptions: GraphSubscriptions;
  throttle: GraphThrottle;
  faults: Record<FaultTargetName, FaultInjector>;
  settings: {
    googleConsent: ConsentSettings;
    microsoftConsent: ConsentSettings;
    gmailJsonLimitBytes: number;
    quotaErrorStatus: 403 | 429;
    graphLatencyMs: number;
  };
  config: {
    googleClientId: string;
    microsoftClientId: string;
    pubsubTopic: string;
    pushAudience: string;
    pushServiceAccount: string;
  };
}
