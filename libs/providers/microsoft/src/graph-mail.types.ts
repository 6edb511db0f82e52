// The shapes of GraphMailApi's inputs and results (config, folders, delta pages, summaries, drafts, batch results)
// and Graph's size limits; no I/O here.
import type { MicrosoftProviderError } from './provider-error';

export interface GraphApiConfig {
  /** `MICROSOFT_GRAPH_BASE_URL`: `https://graph.microsoft.com` or an emulator (https). */
  readonly baseUrl: string;
  /** Per request; a timed-out request is a `temporary` error. Default 30 s. */
  readonly timeoutMs?: number;
  /** Chunk size of upload-session PUTs; Outlook wants at most 4 MiB. */
  readonly uploadChunkBytes?: number;
}

/** The two folders the gateway follows (well-known names). */
export type GraphFolder = 'inbox' | 'sentitems';

export interface GraphRecipient {
  readonly name?: string;
  readonly address: string;
}

export interface GraphDeltaItem {
  /** Immutable id (every request asks for them). */
  readonly id: string;
  readonly removed: boolean;
  readonly receivedAt?: Date;
  readonly conversationId?: string;
  readonly internetMessageId?: string;
  readonly isDraft?: boolean;
  /** SYN-7: the read state and when the message last changed. */
  readonly isRead?: boolean;
  readonly lastModifiedAt?: Date;
}

export interface GraphDeltaPage {
  readonly items: readonly GraphDeltaItem[];
  /** More pages in this round: call it next (verbatim). */
  readonly nextLink?: string;
  /** Round complete: the cursor for the next round. */
  readonly deltaLink?: string;
}

export interface GraphMessageSummary {
  readonly id: string;
  readonly conversationId: string;
  readonly internetMessageId: string;
  readonly isDraft: boolean;
  readonly parentFolderId?: string;
}

export interface GraphDraftInput {
  readonly subject: string;
  readonly body: { readonly contentType: 'text' | 'html'; readonly content: string };
  readonly to: readonly GraphRecipient[];
  readonly cc: readonly GraphRecipient[];
  readonly bcc: readonly GraphRecipient[];
  /** Only `x-` names are accepted by Graph. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Send as one of the mailbox's proxy addresses (SND-7); omitted = the mailbox itself. */
  readonly from?: GraphRecipient;
}

/** Graph's JSON batching limit. */
export const GRAPH_BATCH_MAX_REQUESTS = 20;

/** One request's outcome inside a `$batch`: the value, or that request's own error (the others are unaffected). */
export type GraphBatchResult<T> =
  | { readonly id: string; readonly ok: true; readonly value: T }
  | { readonly id: string; readonly ok: false; readonly error: MicrosoftProviderError };

export interface GraphSubscriptionInfo {
  readonly id: string;
  readonly expiresAt: Date;
}

/** Graph accepts inline attachments only under this size; larger ones need an upload session. */
export const GRAPH_INLINE_ATTACHMENT_LIMIT_BYTES = 3 * 1024 * 1024;
