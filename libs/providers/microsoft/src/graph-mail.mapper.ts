// Pure mapping between Graph's JSON and GraphMailApi's shapes: recipients out, message summaries and delta items in,
// and one `$batch` part's MIME answer decoded into its own result.
import { mapGraphError } from './graph-error.mapper';
import type {
  GraphBatchResult,
  GraphDeltaItem,
  GraphDraftInput,
  GraphFolder,
  GraphMessageSummary,
  GraphRecipient,
} from './graph-mail.types';

/** What `createSubscription` needs to know about one folder's subscription. */
export interface GraphSubscriptionRequest {
  folder: GraphFolder;
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  expiresAt: Date;
}

/** The `POST /subscriptions` body for one followed folder. */
export function subscriptionBody(request: GraphSubscriptionRequest) {
  const folderName = request.folder === 'inbox' ? 'Inbox' : 'SentItems';
  return {
    // created: new mail; updated / deleted: read state and moves of synced mail (SYN-7).
    changeType: 'created,updated,deleted',
    resource: `me/mailFolders('${folderName}')/messages`,
    notificationUrl: request.notificationUrl,
    lifecycleNotificationUrl: request.lifecycleNotificationUrl,
    clientState: request.clientState,
    expirationDateTime: request.expiresAt.toISOString(),
    latestSupportedTlsVersion: 'v1_2',
  };
}

export const recipients = (list: readonly GraphRecipient[]) =>
  list.map((r) => ({ emailAddress: { address: r.address, ...(r.name ? { name: r.name } : {}) } }));

/** The Graph message of a new or reply draft; only `x-` headers are accepted by Graph. */
export function draftMessage(input: GraphDraftInput) {
  return {
    subject: input.subject,
    body: { contentType: input.body.contentType, content: input.body.content },
    toRecipients: recipients(input.to),
    ccRecipients: recipients(input.cc),
    bccRecipients: recipients(input.bcc),
    ...(input.from ? { from: recipients([input.from])[0] } : {}),
    ...(input.headers && Object.keys(input.headers).length > 0
      ? { internetMessageHeaders: Object.entries(input.headers).map(([name, value]) => ({ name, value })) }
      : {}),
  };
}

export function summary(m: Record<string, unknown>): GraphMessageSummary {
  return {
    id: String(m.id ?? ''),
    conversationId: String(m.conversationId ?? ''),
    internetMessageId: String(m.internetMessageId ?? ''),
    isDraft: m.isDraft === true,
    ...(typeof m.parentFolderId === 'string' ? { parentFolderId: m.parentFolderId } : {}),
  };
}

/** One message of a delta page; `@removed` marks a deletion or a move out of the folder. */
export function deltaItem(m: Record<string, unknown>): GraphDeltaItem {
  return {
    id: String(m.id ?? ''),
    removed: m['@removed'] !== undefined,
    ...(typeof m.receivedDateTime === 'string' ? { receivedAt: new Date(m.receivedDateTime) } : {}),
    ...(typeof m.conversationId === 'string' ? { conversationId: m.conversationId } : {}),
    ...(typeof m.internetMessageId === 'string' ? { internetMessageId: m.internetMessageId } : {}),
    ...(typeof m.isDraft === 'boolean' ? { isDraft: m.isDraft } : {}),
    ...(typeof m.isRead === 'boolean' ? { isRead: m.isRead } : {}),
    ...(typeof m.lastModifiedDateTime === 'string'
      ? { lastModifiedAt: new Date(m.lastModifiedDateTime) }
      : {}),
  };
}

/** One `$value` answer inside a `$batch`: the MIME bytes on 2xx, else that request's own mapped error. */
export async function batchMimeResult(id: string, response: Response): Promise<GraphBatchResult<Buffer>> {
  const text = await response.text();
  if (response.status >= 200 && response.status < 300) {
    // Graph base64-encodes non-JSON bodies in a batch; MIME itself is never pure base64 (its header lines
    // hold ':' and spaces), so a body that is not base64 is taken as the MIME text itself.
    const base64 = /^[A-Za-z0-9+/=\r\n]*$/.test(text);
    return { id, ok: true, value: base64 ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8') };
  }
  let code: string | undefined;
  let message: string | undefined;
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    code = e?.code;
    message = e?.message;
  } catch {
    // Not JSON: the status alone says what happened.
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name.toLowerCase()] = value));
  return {
    id,
    ok: false,
    error: mapGraphError(
      { statusCode: response.status, code, message: message ?? `HTTP ${response.status}`, headers },
      'messages.$value',
    ),
  };
}
