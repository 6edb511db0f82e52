// GraphMailApi: the Microsoft Graph mail calls (subscriptions, reading, sending) on the official client; its shapes
// live in graph-mail.types.ts, the JSON mapping in graph-mail.mapper.ts, chunked uploads in graph-upload-session.ts.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  AuthenticationHandler,
  BatchRequestContent,
  BatchResponseContent,
  Client,
  HTTPMessageHandler,
  ResponseType,
} from '@microsoft/microsoft-graph-client';
import { mapGraphError } from './graph-error.mapper';
import {
  batchMimeResult,
  deltaItem,
  draftMessage,
  type GraphSubscriptionRequest,
  subscriptionBody,
  summary,
} from './graph-mail.mapper';
import {
  GRAPH_BATCH_MAX_REQUESTS,
  type GraphApiConfig,
  type GraphBatchResult,
  type GraphDeltaPage,
  type GraphDraftInput,
  type GraphFolder,
  type GraphMessageSummary,
  type GraphSubscriptionInfo,
} from './graph-mail.types';
import { uploadInChunks } from './graph-upload-session';
import { MicrosoftProviderError } from './provider-error';

const IMMUTABLE = 'IdType="ImmutableId"';
const SUMMARY_FIELDS = 'id,conversationId,internetMessageId,isDraft,parentFolderId';
const DELTA_FIELDS =
  'id,receivedDateTime,conversationId,internetMessageId,isDraft,isRead,lastModifiedDateTime';

/**
 * The Microsoft Graph mail calls the gateway makes, on `@microsoft/microsoft-graph-client` pointed at a configurable
 * base URL. Every request asks for immutable ids (they survive the move to Sent Items). The middleware chain is
 * authentication + HTTP only: the client's RetryHandler is left out because the caller owns retries, Retry-After
 * and per-mailbox concurrency. Throws only {@link MicrosoftProviderError}s.
 */
export class GraphMailApi {
  private readonly baseUrl: string;
  private readonly customHosts: Set<string>;

  constructor(private readonly config: GraphApiConfig) {
    const base = new URL(config.baseUrl);
    this.baseUrl = `${base.origin}/`;
    // The client only sends the token to Graph hosts and these (an emulator, a national cloud).
    this.customHosts = new Set([base.hostname]);
  }

  private client(token: string): Client {
    return Client.initWithMiddleware({
      baseUrl: this.baseUrl,
      defaultVersion: 'v1.0',
      customHosts: this.customHosts,
      middleware: [
        new AuthenticationHandler({ getAccessToken: async () => token }),
        new HTTPMessageHandler(),
      ],
      fetchOptions: { signal: AbortSignal.timeout(this.config.timeoutMs ?? 30_000) },
    });
  }

  private async call<T>(operation: string, run: (client: Client) => Promise<T>, token: string): Promise<T> {
    try {
      return await run(this.client(token));
    } catch (error) {
      throw mapGraphError(error, operation);
    }
  }

  // ---- subscriptions ----

  async createSubscription(token: string, request: GraphSubscriptionRequest): Promise<GraphSubscriptionInfo> {
    const created = await this.call(
      'subscriptions.create',
      (c) =>
        c.api('/subscriptions').header('Prefer', IMMUTABLE).post(subscriptionBody(request)) as Promise<{
          id: string;
          expirationDateTime: string;
        }>,
      token,
    );
    return { id: created.id, expiresAt: new Date(created.expirationDateTime) };
  }

  async renewSubscription(token: string, id: string, expiresAt: Date): Promise<GraphSubscriptionInfo> {
    const renewed = await this.call(
      'subscriptions.renew',
      (c) =>
        c.api(`/subscriptions/${encodeURIComponent(id)}`).patch({
          expirationDateTime: expiresAt.toISOString(),
        }) as Promise<{ id: string; expirationDateTime: string }>,
      token,
    );
    return { id: renewed.id ?? id, expiresAt: new Date(renewed.expirationDateTime) };
  }

  async deleteSubscription(token: string, id: string): Promise<void> {
    await this.call(
      'subscriptions.delete',
      (c) =>
        c
          .api(`/subscriptions/${encodeURIComponent(id)}`)
          .responseType(ResponseType.RAW)
          .delete(),
      token,
    );
  }

  // ---- reading ----

  /**
   * One page of a folder's delta round: from the start (`folder`) or from a stored next/delta link (`link`,
   * followed verbatim). An expired delta state is `cursor_expired`.
   */
  async delta(
    token: string,
    from: { folder: GraphFolder; pageSize?: number } | { link: string; pageSize?: number },
  ): Promise<GraphDeltaPage> {
    const page = await this.call(
      'messages.delta',
      (c) => {
        const prefer = `${IMMUTABLE}, odata.maxpagesize=${from.pageSize ?? 50}`;
        const request =
          'link' in from
            ? c.api(from.link)
            : c.api(`/me/mailFolders('${from.folder}')/messages/delta`).select(DELTA_FIELDS);
        return request.header('Prefer', prefer).get() as Promise<{
          value?: Array<Record<string, unknown>>;
          '@odata.nextLink'?: string;
          '@odata.deltaLink'?: string;
        }>;
      },
      token,
    );
    return {
      items: (page.value ?? []).map(deltaItem),
      ...(page['@odata.nextLink'] ? { nextLink: page['@odata.nextLink'] } : {}),
      ...(page['@odata.deltaLink'] ? { deltaLink: page['@odata.deltaLink'] } : {}),
    };
  }

  /**
   * Ids (with their receipt time) of a folder's messages received at or after `from`, newest first: what an audit
   * needs, nothing more (`$select=id,receivedDateTime`). Follow `nextLink` for the next page.
   */
  async listIds(
    token: string,
    from: { folder: GraphFolder; from: Date; pageSize?: number } | { link: string },
  ): Promise<{ items: Array<{ id: string; receivedAt: Date }>; nextLink?: string }> {
    const page = await this.call(
      'messages.list',
      (c) =>
        ('link' in from
          ? c.api(from.link)
          : c
              .api(`/me/mailFolders('${from.folder}')/messages`)
              .header('Prefer', IMMUTABLE)
              .select('id,receivedDateTime')
              .filter(`receivedDateTime ge ${from.from.toISOString()}`)
              .orderby('receivedDateTime desc')
              .top(from.pageSize ?? 200)
        ).get() as Promise<{ value?: Array<Record<string, unknown>>; '@odata.nextLink'?: string }>,
      token,
    );
    return {
      items: (page.value ?? []).map((m) => ({
        id: String(m.id ?? ''),
        receivedAt: new Date(String(m.receivedDateTime ?? '')),
      })),
      ...(page['@odata.nextLink'] ? { nextLink: page['@odata.nextLink'] } : {}),
    };
  }

  /** The message's raw RFC 822 (`$value`), streamed. */
  async mime(token: string, id: string): Promise<Readable> {
    const body = await this.call(
      'messages.$value',
      (c) =>
        c
          .api(`/me/messages/${encodeURIComponent(id)}/$value`)
          .header('Prefer', IMMUTABLE)
          .responseType(ResponseType.STREAM)
          .get() as Promise<WebReadableStream<Uint8Array> | Readable | null>,
      token,
    );
    if (!body) throw new MicrosoftProviderError('temporary', 'messages.$value: empty response');
    return body instanceof Readable ? body : Readable.fromWeb(body);
  }

  /**
   * The MIME of up to 20 messages in one JSON `$batch` (the SDK's BatchRequestContent / BatchResponseContent).
   * Graph returns a non-JSON body inside a batch base64-encoded, so each MIME arrives whole in memory: fine for mail
   * of ordinary size; {@link mime} streams one message when that matters. Each message gets its own result: a 404
   * or 429 of one request fails that request only; a failure of the batch itself (401, network) throws.
   */
  async mimeBatch(token: string, ids: readonly string[]): Promise<GraphBatchResult<Buffer>[]> {
    if (ids.length === 0) return [];
    if (ids.length > GRAPH_BATCH_MAX_REQUESTS)
      throw new RangeError(`mimeBatch: ${ids.length} ids, at most ${GRAPH_BATCH_MAX_REQUESTS}`);
    const origin = this.baseUrl.replace(/\/$/, '');
    const content = new BatchRequestContent(
      ids.map((id, i) => ({
        id: String(i + 1),
        // Relative to the version, as $batch wants: the SDK strips scheme, host and port.
        request: new Request(`${origin}/me/messages/${encodeURIComponent(id)}/$value`, {
          method: 'GET',
          headers: { Prefer: IMMUTABLE },
        }),
      })),
    );
    const body = await content.getContent();
    const answer = await this.call(
      'messages.$value',
      (c) => c.api('/$batch').post(body) as Promise<{ responses?: unknown[] }>,
      token,
    );
    const batch = new BatchResponseContent({ responses: (answer.responses ?? []) as never[] });
    return Promise.all(
      ids.map(async (id, i): Promise<GraphBatchResult<Buffer>> => {
        const response = batch.getResponseById(String(i + 1));
        if (!response)
          return {
            id,
            ok: false,
            error: new MicrosoftProviderError(
              'temporary',
              'messages.$value: no answer in the batch response',
            ),
          };
        return batchMimeResult(id, response);
      }),
    );
  }

  async getMessage(token: string, id: string): Promise<GraphMessageSummary> {
    const m = await this.call(
      'messages.get',
      (c) =>
        c
          .api(`/me/messages/${encodeURIComponent(id)}`)
          .header('Prefer', IMMUTABLE)
          .select(SUMMARY_FIELDS)
          .get() as Promise<Record<string, unknown>>,
      token,
    );
    return summary(m);
  }

  /** SYN-7: marks a message read or unread (`PATCH isRead`); an unknown id is `not_found`. */
  async setRead(token: string, id: string, isRead: boolean): Promise<void> {
    await this.call(
      'messages.update',
      (c) =>
        c
          .api(`/me/messages/${encodeURIComponent(id)}`)
          .header('Prefer', IMMUTABLE)
          .select('id,isRead')
          .patch({ isRead }) as Promise<unknown>,
      token,
    );
  }

  /** The id of a well-known folder (e.g. `deleteditems`), to tell where a message moved to. */
  async wellKnownFolderId(token: string, name: 'deleteditems' | 'inbox' | 'sentitems'): Promise<string> {
    const folder = await this.call(
      'mailFolders.get',
      (c) => c.api(`/me/mailFolders('${name}')`).select('id').get() as Promise<{ id?: string }>,
      token,
    );
    return String(folder.id ?? '');
  }

  /** Messages with this RFC Message-ID (any folder), e.g. the Sent copy of a send whose outcome is unknown. */
  async findByInternetMessageId(token: string, internetMessageId: string): Promise<GraphMessageSummary[]> {
    const page = await this.call(
      'messages.list',
      (c) =>
        c
          .api('/me/messages')
          .header('Prefer', IMMUTABLE)
          .filter(`internetMessageId eq '${internetMessageId.replace(/'/g, "''")}'`)
          .select(SUMMARY_FIELDS)
          .top(10)
          .get() as Promise<{ value?: Array<Record<string, unknown>> }>,
      token,
    );
    return (page.value ?? []).map(summary);
  }

  // ---- sending ----

  /** A new draft (`POST /me/messages`), or a reply draft in the original's conversation (`createReply`). */
  async createDraft(
    token: string,
    input: GraphDraftInput,
    replyToMessageId?: string | null,
  ): Promise<GraphMessageSummary> {
    const message = draftMessage(input);
    const created = await this.call(
      replyToMessageId ? 'messages.createReply' : 'messages.create',
      (c) =>
        (replyToMessageId
          ? c
              .api(`/me/messages/${encodeURIComponent(replyToMessageId)}/createReply`)
              .header('Prefer', IMMUTABLE)
              .post({ message })
          : c.api('/me/messages').header('Prefer', IMMUTABLE).post(message)) as Promise<
          Record<string, unknown>
        >,
      token,
    );
    return summary(created);
  }

  /** A file attachment under 3 MB, inline in one JSON request. */
  async addAttachment(
    token: string,
    draftId: string,
    file: { name: string; contentType: string; content: Buffer; contentId?: string; inline?: boolean },
  ): Promise<void> {
    await this.call(
      'attachments.add',
      (c) =>
        c
          .api(`/me/messages/${encodeURIComponent(draftId)}/attachments`)
          .header('Prefer', IMMUTABLE)
          .post({
            '@odata.type': '#microsoft.graph.fileAttachment',
            name: file.name,
            contentType: file.contentType,
            contentBytes: file.content.toString('base64'),
            isInline: file.inline === true,
            ...(file.contentId ? { contentId: file.contentId } : {}),
          }),
      token,
    );
  }

  /**
   * A file attachment of 3 MB or more: an upload session, then ranged PUTs of at most 4 MiB to the pre-authenticated
   * upload URL (no Authorization header). Only one chunk is held in memory at a time.
   */
  async uploadLargeAttachment(
    token: string,
    draftId: string,
    file: {
      name: string;
      contentType: string;
      size: number;
      content: Readable;
      contentId?: string;
      inline?: boolean;
    },
  ): Promise<void> {
    const session = await this.call(
      'attachments.createUploadSession',
      (c) =>
        c
          .api(`/me/messages/${encodeURIComponent(draftId)}/attachments/createUploadSession`)
          .header('Prefer', IMMUTABLE)
          .post({
            AttachmentItem: {
              attachmentType: 'file',
              name: file.name,
              size: file.size,
              contentType: file.contentType,
              isInline: file.inline === true,
              ...(file.contentId ? { contentId: file.contentId } : {}),
            },
          }) as Promise<{ uploadUrl: string }>,
      token,
    );
    await uploadInChunks(session.uploadUrl, file, {
      chunkBytes: this.config.uploadChunkBytes ?? 4 * 1024 * 1024,
      timeoutMs: this.config.timeoutMs ?? 30_000,
    });
  }

  /** `POST /me/messages/{id}/send` (202): the draft goes out and moves to Sent Items, keeping its immutable id. */
  async sendDraft(token: string, draftId: string): Promise<void> {
    await this.call(
      'messages.send',
      (c) =>
        c
          .api(`/me/messages/${encodeURIComponent(draftId)}/send`)
          .header('Prefer', IMMUTABLE)
          .responseType(ResponseType.RAW)
          .post(null),
      token,
    );
  }
}
