// Public entry of @mailbridge/sandbox-providers: local emulators of Gmail + Pub/Sub push + Google OAuth and
// Microsoft Graph + change notifications + Microsoft identity, with a control API for tests and the sandbox.
export {
  startSandboxProviders,
  SANDBOX_DEFAULTS,
  type SandboxProviders,
  type SandboxProvidersOptions,
  type SandboxUrls,
} from './sandbox-providers';
export {
  SandboxControl,
  type AddressInput,
  type AttachmentInput,
  type ControlResult,
  type InboundMessage,
  type MessageStateAction,
  type MessageStateView,
  type OwnerMessage,
  type ProviderName,
} from './control/sandbox-control';
export type { MailboxView, MailView } from './control/mail-view';
export type { FaultTargetName } from './control/sandbox-state';
export { type Clock, ManualClock, systemClock } from './shared/clock';
export type { ConsentSettings } from './shared/consent';
export type { FaultSpec } from './shared/faults';
export type { DeliveryBehaviour, DeliveryRecord } from './shared/webhook-dispatcher';
export type { GraphSubscription, LifecycleEvent } from './graph/graph-subscriptions';
export type { PushTopic } from './gmail/pubsub-push';
export { normalizeSubject } from './shared/subject';
export { SAMPLE_MAILBOXES } from './sample-mailboxes';
