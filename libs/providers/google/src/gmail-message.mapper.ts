// Pure mapping from the Gmail client's schemas to GmailApi's shapes: history records, label changes, raw messages,
// and one batch part's error status as the provider error a single call would have thrown.
import type { gmail_v1 } from '@googleapis/gmail';
import type { BatchPartResponse } from './gmail-batch.codec';
import type { GmailHistoryPage, GmailLabelChange, GmailRawMessage } from './gmail.types';
import { mapGoogleError } from './google-error.mapper';
import type { GoogleProviderError } from './provider-error';

/** One `history.list` record: added messages always, label changes and deletions when asked for (SYN-7). */
export function historyRecord(h: gmail_v1.Schema$History): GmailHistoryPage['records'][number] {
  return {
    id: String(h.id ?? ''),
    added: (h.messagesAdded ?? [])
      .map((a) => a.message)
      .filter((m): m is gmail_v1.Schema$Message => !!m?.id)
      .map((m) => ({ id: m.id ?? '', threadId: m.threadId ?? '', labelIds: m.labelIds ?? [] })),
    ...(h.labelsAdded ? { labelsAdded: labelChanges(h.labelsAdded) } : {}),
    ...(h.labelsRemoved ? { labelsRemoved: labelChanges(h.labelsRemoved) } : {}),
    ...(h.messagesDeleted
      ? { deleted: h.messagesDeleted.map((d) => d.message?.id ?? '').filter((id) => id !== '') }
      : {}),
  };
}

export function rawMessageOf(data: gmail_v1.Schema$Message, id: string): GmailRawMessage {
  return {
    id: data.id ?? id,
    threadId: data.threadId ?? '',
    labelIds: data.labelIds ?? [],
    internalDate: new Date(Number(data.internalDate ?? Date.now())),
    historyId: String(data.historyId ?? ''),
    // Google emits base64url; Node's decoder accepts either alphabet, padded or not.
    raw: Buffer.from(data.raw ?? '', 'base64url'),
  };
}

/** An inner call's error status as the same provider error a single call would have thrown. */
export function partError(part: BatchPartResponse): GoogleProviderError {
  let data: unknown;
  try {
    data = JSON.parse(part.body);
  } catch {
    data = undefined;
  }
  return mapGoogleError(
    { message: `HTTP ${part.status}`, response: { status: part.status, headers: part.headers, data } },
    { operation: 'users.messages.get' },
  );
}

function labelChanges(list: gmail_v1.Schema$HistoryLabelAdded[]): GmailLabelChange[] {
  return list
    .filter((c) => !!c.message?.id)
    .map((c) => ({
      message: {
        id: c.message?.id ?? '',
        threadId: c.message?.threadId ?? '',
        labelIds: c.message?.labelIds ?? [],
      },
      labelIds: c.labelIds ?? [],
    }));
}
