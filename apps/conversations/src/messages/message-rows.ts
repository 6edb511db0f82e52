// A message row as the repository writes it: what a new message and its attachments carry, the identities and
// cursors the queries take, and the mapping of a new message onto the columns of conversations.messages.
import type { AttachmentEntity } from './attachment.entity';
import type { MessageEntity } from './message.entity';
import type { SortKey } from './message-order';

/** A message to insert: everything but what the database assigns and its place (SYN-6), computed on insert. */
export type NewMessage = Omit<
  MessageEntity,
  | 'seq'
  | 'sortSecond'
  | 'sortReceivedAt'
  | 'createdAt'
  | 'updatedAt'
  | 'classification'
  | 'bounce'
  | 'mailboxState'
>;
export type NewAttachment = AttachmentEntity;

/** The keyset position of a message in its conversation's list (SYN-6). */
export interface MessageCursor {
  readonly second: string;
  readonly receivedAt: string;
  readonly seq: string;
}

/** What identifies one message however it arrives (SYN-5). */
export interface MessageIdentity {
  readonly deliveryId?: string | null;
  readonly provider?: string | null;
  readonly providerMessageId?: string | null;
  readonly rfcMessageId?: string | null;
}

const MESSAGE_COLUMNS: ReadonlyArray<[keyof NewMessage, string, string?]> = [
  ['locationId', 'location_id'],
  ['messageId', 'message_id'],
  ['conversationId', 'conversation_id'],
  ['contactId', 'contact_id'],
  ['userId', 'user_id'],
  ['connectionId', 'connection_id'],
  ['mailboxKey', 'mailbox_key'],
  ['kind', 'kind'],
  ['direction', 'direction'],
  ['source', 'source'],
  ['status', 'status'],
  ['from', 'from_address', 'jsonb'],
  ['to', 'to_addresses', 'jsonb'],
  ['cc', 'cc_addresses', 'jsonb'],
  ['bcc', 'bcc_addresses', 'jsonb'],
  ['subject', 'subject'],
  ['text', 'text_body'],
  ['html', 'html_body'],
  ['bodyTruncated', 'body_truncated'],
  ['sortAt', 'sort_at'],
  ['sentAt', 'sent_at'],
  ['receivedAt', 'received_at'],
  ['provider', 'provider'],
  ['providerMessageId', 'provider_message_id'],
  ['providerThreadId', 'provider_thread_id'],
  ['rfcMessageId', 'rfc_message_id'],
  ['inReplyTo', 'in_reply_to'],
  ['references', '"references"', 'jsonb'],
  ['deliveryId', 'delivery_id'],
  ['rule', 'rule'],
  ['idempotencyKey', 'idempotency_key'],
  ['failureCode', 'failure_code'],
  ['failureMessage', 'failure_message'],
];

/** The INSERT's columns, their placeholders (typed where pg needs it) and values, the place (SYN-6) last. */
export function messageInsertValues(
  message: NewMessage,
  key: SortKey,
): { columns: string[]; placeholders: string[]; params: unknown[] } {
  const params = [
    ...MESSAGE_COLUMNS.map(([prop, , type]) =>
      type === 'jsonb' ? JSON.stringify(message[prop]) : message[prop],
    ),
    key.second,
    key.receivedAt,
  ];
  const columns = [...MESSAGE_COLUMNS.map(([, col]) => col), 'sort_second', 'sort_received_at'];
  const placeholders = [
    ...MESSAGE_COLUMNS.map(([, , type], i) => (type ? `$${i + 1}::${type}` : `$${i + 1}`)),
    `$${MESSAGE_COLUMNS.length + 1}`,
    `$${MESSAGE_COLUMNS.length + 2}`,
  ];
  return { columns, placeholders, params };
}

/** A row of a multi-row INSERT: the message, its place (SYN-6) and its SYN-9 classification, if any. */
export interface MessageInsertRow {
  readonly message: NewMessage;
  readonly key: SortKey;
  readonly classification: MessageEntity['classification'];
}

/** Bind parameters a row of `messageRowsInsertValues` takes: the columns, the place (SYN-6), the classification. */
export const MESSAGE_ROW_PARAMS = MESSAGE_COLUMNS.length + 3;

/**
 * Several messages in one INSERT (the batch path, issue 16): each row as `messageInsertValues` builds it, placeholders
 * numbered on, and the classification last (the single path writes it with a later UPDATE; the row ends the same).
 */
export function messageRowsInsertValues(rows: readonly MessageInsertRow[]): {
  columns: string[];
  tuples: string[];
  params: unknown[];
} {
  const params: unknown[] = [];
  const tuples: string[] = [];
  let columns: string[] = [];
  for (const row of rows) {
    const one = messageInsertValues(row.message, row.key);
    columns = [...one.columns, 'classification'];
    const offset = params.length;
    const placeholders = [...one.placeholders, `$${one.params.length + 1}`].map((ph) =>
      ph.replace(/\$(\d+)/, (_, n: string) => `$${Number(n) + offset}`),
    );
    params.push(...one.params, row.classification);
    tuples.push(`(${placeholders.join(', ')}, now(), now())`);
  }
  return { columns, tuples, params };
}

/** TypeORM's `query` on UPDATE ... RETURNING answers [rows, count] with pg. */
export function rowCount(result: unknown[]): number {
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[1];
  return result.length;
}
