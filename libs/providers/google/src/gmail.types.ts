// The shapes of GmailApi's inputs and results (config, history pages, message refs, raw messages, batch results)
// and Gmail's quota costs per call; no I/O here.
import type { GoogleProviderError } from './provider-error';

export interface GmailApiConfig {
  /** `GMAIL_API_ROOT_URL`: `https://gmail.googleapis.com/` or an emulator, with the trailing slash. */
  readonly rootUrl: string;
  /** Per request; a timed-out request is a `temporary` error. Default 30 s. */
  readonly timeoutMs?: number;
  /** The fetch gaxios uses; Node's global by default (gaxios would otherwise import node-fetch). */
  readonly fetchImplementation?: typeof fetch;
}

/** Quota units per call (Gmail quota reference), for per-mailbox budgets. */
export const GMAIL_QUOTA_UNITS = {
  getProfile: 1,
  historyList: 2,
  messagesGet: 5,
  messagesList: 5,
  messagesSend: 100,
  watch: 100,
  stop: 50,
  messagesModify: 5,
  messagesBatchModify: 50,
} as const;

/** History record kinds (`historyTypes`). */
export type GmailHistoryType = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

/** A label change of one message in a history record: the labels changed and the message's labels after it. */
export interface GmailLabelChange {
  readonly message: GmailMessageRef;
  readonly labelIds: readonly string[];
}

export interface GmailMessageRef {
  readonly id: string;
  readonly threadId: string;
  readonly labelIds: readonly string[];
}

export interface GmailHistoryPage {
  /** Records in increasing history id order; only `messagesAdded` matter to us. */
  readonly records: ReadonlyArray<{
    readonly id: string;
    readonly added: readonly GmailMessageRef[];
    /** Only when asked for (`historyTypes`): label changes and deletions (SYN-7). */
    readonly labelsAdded?: readonly GmailLabelChange[];
    readonly labelsRemoved?: readonly GmailLabelChange[];
    readonly deleted?: readonly string[];
  }>;
  readonly nextPageToken?: string;
  /** The mailbox's current history id: the next cursor once there is no next page. */
  readonly historyId: string;
}

/** One call's outcome inside a batch: the value, or that call's own error (the other calls are unaffected). */
export type GmailBatchResult<T> =
  | { readonly id: string; readonly ok: true; readonly value: T }
  | { readonly id: string; readonly ok: false; readonly error: GoogleProviderError };

export interface GmailRawMessage extends GmailMessageRef {
  /** When Google accepted the message. */
  readonly internalDate: Date;
  readonly historyId: string;
  /** The RFC 822 bytes. */
  readonly raw: Buffer;
}
