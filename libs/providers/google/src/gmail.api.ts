// GmailApi: the Gmail calls the gateway makes (profile, watch, history, labels, messages, batch, send) on the official
// client; its shapes live in gmail.types.ts, the schema mapping in gmail-message.mapper.ts.
import type { Readable } from 'node:stream';
import { gmail, type gmail_v1 } from '@googleapis/gmail';
import { OAuth2Client } from 'google-auth-library';
import {
  GMAIL_BATCH_MAX_CALLS,
  encodeBatchRequest,
  newBatchBoundary,
  parseBatchResponse,
  type BatchPartResponse,
} from './gmail-batch.codec';
import { historyRecord, partError, rawMessageOf } from './gmail-message.mapper';
import type {
  GmailApiConfig,
  GmailBatchResult,
  GmailHistoryPage,
  GmailHistoryType,
  GmailMessageRef,
  GmailRawMessage,
} from './gmail.types';
import { mapGoogleError } from './google-error.mapper';
import { GoogleProviderError, type ProviderErrorCode } from './provider-error';

/**
 * The Gmail calls the gateway makes, on the official `@googleapis/gmail` client pointed at a configurable root URL.
 * Each call takes the mailbox's access token (obtained and cached by the caller) and throws only
 * {@link GoogleProviderError}s. The client's own retries are off: the caller owns retry, budget and backoff policy.
 */
export class GmailApi {
  private readonly client: gmail_v1.Gmail;

  constructor(private readonly config: GmailApiConfig) {
    this.client = gmail({
      version: 'v1',
      rootUrl: config.rootUrl,
      retry: false,
      timeout: config.timeoutMs ?? 30_000,
      fetchImplementation: config.fetchImplementation ?? fetch,
    });
  }

  private options(token: string, extra: Record<string, unknown> = {}) {
    return { headers: { Authorization: `Bearer ${token}` }, ...extra };
  }

  private async call<T>(
    operation: string,
    run: () => Promise<{ data: T }>,
    notFound?: ProviderErrorCode,
  ): Promise<T> {
    try {
      return (await run()).data;
    } catch (error) {
      throw mapGoogleError(error, { operation, notFound });
    }
  }

  async getProfile(token: string): Promise<{ emailAddress: string; historyId: string }> {
    const data = await this.call('users.getProfile', () =>
      this.client.users.getProfile({ userId: 'me' }, this.options(token)),
    );
    return { emailAddress: data.emailAddress ?? '', historyId: String(data.historyId ?? '') };
  }

  async watch(
    token: string,
    request: { topicName: string; labelIds: readonly string[] },
  ): Promise<{ historyId: string; expiration: Date }> {
    const data = await this.call('users.watch', () =>
      this.client.users.watch(
        {
          userId: 'me',
          requestBody: {
            topicName: request.topicName,
            labelIds: [...request.labelIds],
            labelFilterBehavior: 'include',
          },
        },
        this.options(token),
      ),
    );
    return { historyId: String(data.historyId ?? ''), expiration: new Date(Number(data.expiration ?? 0)) };
  }

  async stop(token: string): Promise<void> {
    await this.call('users.stop', () => this.client.users.stop({ userId: 'me' }, this.options(token)));
  }

  /** `history.list` of added messages after `startHistoryId`; a stale cursor is `cursor_expired`. */
  async listHistory(
    token: string,
    request: {
      startHistoryId: string;
      pageToken?: string;
      maxResults?: number;
      /** Default `messageAdded` only. */
      historyTypes?: readonly GmailHistoryType[];
    },
  ): Promise<GmailHistoryPage> {
    const data = await this.call(
      'users.history.list',
      () =>
        this.client.users.history.list(
          {
            userId: 'me',
            startHistoryId: request.startHistoryId,
            historyTypes: [...(request.historyTypes ?? ['messageAdded'])],
            maxResults: request.maxResults ?? 100,
            ...(request.pageToken ? { pageToken: request.pageToken } : {}),
          },
          this.options(token),
        ),
      'cursor_expired',
    );
    return {
      records: (data.history ?? []).map(historyRecord),
      ...(data.nextPageToken ? { nextPageToken: data.nextPageToken } : {}),
      historyId: String(data.historyId ?? ''),
    };
  }

  /** Adds and removes labels of one message (`messages.modify`); an unknown id is `not_found`. */
  async modifyLabels(
    token: string,
    id: string,
    change: { add?: readonly string[]; remove?: readonly string[] },
  ): Promise<GmailMessageRef> {
    const data = await this.call('users.messages.modify', () =>
      this.client.users.messages.modify(
        {
          userId: 'me',
          id,
          requestBody: { addLabelIds: [...(change.add ?? [])], removeLabelIds: [...(change.remove ?? [])] },
        },
        this.options(token),
      ),
    );
    return { id: data.id ?? id, threadId: data.threadId ?? '', labelIds: data.labelIds ?? [] };
  }

  /**
   * The same change on up to 1000 messages in one call (`messages.batchModify`). All or nothing: one unknown id
   * fails the whole call (`invalid_request`), and the caller then goes one by one.
   */
  async batchModifyLabels(
    token: string,
    ids: readonly string[],
    change: { add?: readonly string[]; remove?: readonly string[] },
  ): Promise<void> {
    await this.call('users.messages.batchModify', () =>
      this.client.users.messages.batchModify(
        {
          userId: 'me',
          requestBody: {
            ids: [...ids],
            addLabelIds: [...(change.add ?? [])],
            removeLabelIds: [...(change.remove ?? [])],
          },
        },
        this.options(token),
      ),
    );
  }

  /** The whole message (`format=raw`): ids, labels, dates and the RFC 822 bytes. */
  async getRawMessage(token: string, id: string): Promise<GmailRawMessage> {
    const data = await this.call('users.messages.get', () =>
      this.client.users.messages.get({ userId: 'me', id, format: 'raw' }, this.options(token)),
    );
    return rawMessageOf(data, id);
  }

  /**
   * `messages.get` (`format=raw`) for up to 100 messages in one HTTP batch request (`POST /batch/gmail/v1`), sent
   * through google-auth-library's client (it sets the Authorization header; gaxios as for every other call, retries
   * off: the caller owns them). Each message gets its own result: a 404 or 429 of one call fails that call only. A
   * failure of the batch request itself (401, network) throws, as a single call would.
   */
  async getRawMessages(token: string, ids: readonly string[]): Promise<GmailBatchResult<GmailRawMessage>[]> {
    if (ids.length === 0) return [];
    if (ids.length > GMAIL_BATCH_MAX_CALLS)
      throw new RangeError(`getRawMessages: ${ids.length} ids, at most ${GMAIL_BATCH_MAX_CALLS}`);
    const calls = ids.map((id, i) => ({
      id: `m${i}`,
      method: 'GET',
      path: `/gmail/v1/users/me/messages/${encodeURIComponent(id)}?format=raw`,
    }));
    const parts = await this.batch('users.messages.get', token, calls);
    const byId = new Map(parts.map((p) => [p.id, p]));
    return ids.map((id, i): GmailBatchResult<GmailRawMessage> => {
      const part = byId.get(`m${i}`);
      if (!part)
        return {
          id,
          ok: false,
          error: new GoogleProviderError('temporary', 'users.messages.get: no answer in the batch response'),
        };
      if (part.status < 200 || part.status > 299) return { id, ok: false, error: partError(part) };
      try {
        return { id, ok: true, value: rawMessageOf(JSON.parse(part.body) as gmail_v1.Schema$Message, id) };
      } catch {
        return {
          id,
          ok: false,
          error: new GoogleProviderError('temporary', 'users.messages.get: unreadable batch part'),
        };
      }
    });
  }

  private async batch(
    operation: string,
    token: string,
    calls: ReadonlyArray<{ id: string; method: string; path: string }>,
  ): Promise<BatchPartResponse[]> {
    const boundary = newBatchBoundary();
    const auth = new OAuth2Client({
      transporterOptions: { fetchImplementation: this.config.fetchImplementation ?? fetch },
    });
    auth.setCredentials({ access_token: token });
    const url = new URL('batch/gmail/v1', this.config.rootUrl).toString();
    try {
      const response = await auth.request<string>({
        url,
        method: 'POST',
        headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}` },
        data: encodeBatchRequest(calls, boundary),
        responseType: 'text',
        retry: false,
        timeout: this.config.timeoutMs ?? 30_000,
      });
      const contentType = response.headers.get('content-type') ?? undefined;
      return parseBatchResponse(String(response.data), contentType);
    } catch (error) {
      if (error instanceof Error && error.name === 'BatchFormatError')
        throw new GoogleProviderError('temporary', `${operation}: ${error.message}`);
      throw mapGoogleError(error, { operation });
    }
  }

  /** Labels and a few headers (`format=metadata`), e.g. the Message-ID Gmail actually used. */
  async getMessageHeaders(
    token: string,
    id: string,
    names: readonly string[],
  ): Promise<GmailMessageRef & { headers: Record<string, string> }> {
    const data = await this.call('users.messages.get', () =>
      this.client.users.messages.get(
        { userId: 'me', id, format: 'metadata', metadataHeaders: [...names] },
        this.options(token),
      ),
    );
    const headers: Record<string, string> = {};
    for (const h of data.payload?.headers ?? []) {
      if (h.name && h.value !== undefined && h.value !== null) headers[h.name.toLowerCase()] = h.value;
    }
    return { id: data.id ?? id, threadId: data.threadId ?? '', labelIds: data.labelIds ?? [], headers };
  }

  /** `messages.list` (newest first): ids only. */
  async listMessages(
    token: string,
    request: { q?: string; labelIds?: readonly string[]; pageToken?: string; maxResults?: number },
  ): Promise<{ messages: Array<{ id: string; threadId: string }>; nextPageToken?: string }> {
    const data = await this.call('users.messages.list', () =>
      this.client.users.messages.list(
        {
          userId: 'me',
          maxResults: request.maxResults ?? 100,
          ...(request.q ? { q: request.q } : {}),
          ...(request.labelIds?.length ? { labelIds: [...request.labelIds] } : {}),
          ...(request.pageToken ? { pageToken: request.pageToken } : {}),
        },
        this.options(token),
      ),
    );
    return {
      messages: (data.messages ?? []).map((m) => ({ id: m.id ?? '', threadId: m.threadId ?? '' })),
      ...(data.nextPageToken ? { nextPageToken: data.nextPageToken } : {}),
    };
  }

  /**
   * `messages.send` through the upload path (multipart: thread id + the raw message, streamed), so large messages
   * are not base64-inflated into a JSON body. The upload URL ignores the service-level root URL, hence the per-call
   * `rootUrl`. Not retried here: a send is not idempotent.
   */
  async send(
    token: string,
    request: { raw: Readable | Buffer; threadId?: string },
  ): Promise<GmailMessageRef> {
    const data = await this.call('users.messages.send', () =>
      this.client.users.messages.send(
        {
          userId: 'me',
          requestBody: request.threadId ? { threadId: request.threadId } : {},
          media: { mimeType: 'message/rfc822', body: request.raw },
        },
        this.options(token, { rootUrl: this.config.rootUrl }),
      ),
    );
    return { id: data.id ?? '', threadId: data.threadId ?? '', labelIds: data.labelIds ?? [] };
  }
}
