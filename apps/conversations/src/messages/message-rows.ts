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

/** The PostgreSQL type of an inserted column (the batch's arrays are cast to it). */
export type ColumnType = 'text' | 'uuid' | 'jsonb' | 'boolean' | 'timestamptz';

/** The columns a new message writes, in the one order both INSERTs use, with their types (see the migrations). */
const MESSAGE_COLUMNS: ReadonlyArray<readonly [keyof NewMessage, string, ColumnType]> = [
  ['locationId', 'location_id', 'text'],
  ['messageId', 'message_id', 'uuid'],
  ['conversationId', 'conversation_id', 'uuid'],
  ['contactId', 'contact_id', 'text'],
  ['userId', 'user_id', 'text'],
  ['connectionId', 'connection_id', 'uuid'],
  ['mailboxKey', 'mailbox_key', 'text'],
  ['kind', 'kind', 'text'],
  ['direction', 'direction', 'text'],
  ['source', 'source', 'text'],
  ['status', 'status', 'text'],
  ['from', 'from_address', 'jsonb'],
  ['to', 'to_addresses', 'jsonb'],
  ['cc', 'cc_addresses', 'jsonb'],
  ['bcc', 'bcc_addresses', 'jsonb'],
  ['subject', 'subject', 'text'],
  ['text', 'text_body', 'text'],
  ['html', 'html_body', 'text'],
  ['bodyTruncated', 'body_truncated', 'boolean'],
  ['sortAt', 'sort_at', 'timestamptz'],
  ['sentAt', 'sent_at', 'timestamptz'],
  ['receivedAt', 'received_at', 'timestamptz'],
  ['provider', 'provider', 'text'],
  ['providerMessageId', 'provider_message_id', 'text'],
  ['providerThreadId', 'provider_thread_id', 'text'],
  ['rfcMessageId', 'rfc_message_id', 'text'],
  ['inReplyTo', 'in_reply_to', 'text'],
  ['references', '"references"', 'jsonb'],
  ['deliveryId', 'delivery_id', 'uuid'],
  ['rule', 'rule', 'text'],
  ['idempotencyKey', 'idempotency_key', 'text'],
  ['failureCode', 'failure_code', 'text'],
  ['failureMessage', 'failure_message', 'text'],
];

/**
 * A column's value as both INSERTs bind it. A jsonb value goes as its JSON text: null (a message without a sender)
 * is stored as JSON `null`, not SQL NULL; both paths must keep storing the same.
 */
const columnValue = (message: NewMessage, prop: keyof NewMessage, type: ColumnType): unknown =>
  type === 'jsonb' ? JSON.stringify(message[prop]) : message[prop];

/** The INSERT's columns, their placeholders (typed where pg needs it) and values, the place (SYN-6) last. */
export function messageInsertValues(
  message: NewMessage,
  key: SortKey,
): { columns: string[]; placeholders: string[]; params: unknown[] } {
  const params = [
    ...MESSAGE_COLUMNS.map(([prop, , type]) => columnValue(message, prop, type)),
    key.second,
    key.receivedAt,
  ];
  const columns = [...MESSAGE_COLUMNS.map(([, col]) => col), 'sort_second', 'sort_received_at'];
  const placeholders = [
    ...MESSAGE_COLUMNS.map(([, , type], i) => (type === 'jsonb' ? `$${i + 1}::jsonb` : `$${i + 1}`)),
    `$${MESSAGE_COLUMNS.length + 1}`,
    `$${MESSAGE_COLUMNS.length + 2}`,
  ];
  return { columns, placeholders, params };
}

/** A row of the batch's INSERT: the message, its place (SYN-6) and its SYN-9 classification, if any. */
export interface MessageInsertRow {
  readonly message: NewMessage;
  readonly key: SortKey;
  readonly classification: MessageEntity['classification'];
}

/** The batch INSERT's columns after MESSAGE_COLUMNS: the place (SYN-6), then the classification. */
const ROW_EXTRA_COLUMNS: ReadonlyArray<readonly [string, ColumnType, (row: MessageInsertRow) => unknown]> = [
  ['sort_second', 'timestamptz', (row) => row.key.second],
  ['sort_received_at', 'timestamptz', (row) => row.key.receivedAt],
  // The single path writes it with a later UPDATE; the row ends the same.
  ['classification', 'text', (row) => row.classification],
];

/** The batch INSERT's columns and types, in the order of `messageRowsInsertParams`' arrays. */
export const MESSAGE_ROW_COLUMNS: ReadonlyArray<readonly [string, ColumnType]> = [
  ...MESSAGE_COLUMNS.map(([, col, type]) => [col, type] as const),
  ...ROW_EXTRA_COLUMNS.map(([col, type]) => [col, type] as const),
];

/** The batch INSERT's parameters: one array per MESSAGE_ROW_COLUMNS column, values as the single path binds them. */
export function messageRowsInsertParams(rows: readonly MessageInsertRow[]): unknown[][] {
  return [
    ...MESSAGE_COLUMNS.map(([prop, , type]) => rows.map((row) => columnValue(row.message, prop, type))),
    ...ROW_EXTRA_COLUMNS.map(([, , value]) => rows.map(value)),
  ];
}

/** TypeORM's `query` on UPDATE ... RETURNING answers [rows, count] with pg. */
export function rowCount(result: unknown[]): number {
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[1];
  return result.length;
}
