// Input rules of a bulk delivery (`POST /_sandbox/bulk-deliver`): a bench injects thousands of messages, one HTTP call
// per message cost the sandbox and the caller more CPU than the platform's own work per message (issue 16).
import { storeInbound } from './control-mail';
import type { BulkDeliveryItem, BulkDeliveryResult } from './control-types';
import type { SandboxState } from './sandbox-state';

/** At most this many messages per call (a bounded request and answer, like the providers' batch limits). */
export const BULK_DELIVER_MAX = 1000;

/** Why a bulk delivery body is refused as a whole (400), or undefined when its shape is right. */
export function bulkDeliveryInputError(body: unknown): string | undefined {
  const messages = (body as { messages?: unknown } | undefined)?.messages;
  if (!Array.isArray(messages)) return 'messages must be an array';
  if (messages.length === 0 || messages.length > BULK_DELIVER_MAX)
    return `messages must hold 1 to ${BULK_DELIVER_MAX} items, not ${messages.length}`;
  for (const [i, item] of messages.entries()) {
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      return `messages[${i}] must be an object`;
    const mailbox = (item as { mailbox?: unknown }).mailbox;
    if (typeof mailbox !== 'string' || mailbox === '')
      return `messages[${i}].mailbox must be the address of a sandbox mailbox`;
  }
  return undefined;
}

/**
 * Delivers each item exactly as the single deliver does (history, threading, Pub/Sub pushes and Graph notifications),
 * one after the other in input order; one item's failure (404 unknown mailbox, 400 bad message) does not stop the rest.
 */
export async function bulkDeliver(
  s: SandboxState,
  items: readonly BulkDeliveryItem[],
): Promise<BulkDeliveryResult[]> {
  const results: BulkDeliveryResult[] = [];
  for (const { mailbox: address, ...input } of items) {
    const gmail = s.gmail.get(address);
    const graph = gmail ? undefined : s.graph.get(address);
    if (!gmail && !graph) {
      results.push({ status: 404, mailbox: address, error: `no sandbox mailbox ${address}` });
      continue;
    }
    try {
      const stored = await storeInbound(s, address, { gmail, graph }, input);
      results.push({
        status: 201,
        mailbox: stored.mailbox,
        id: stored.gmail ? stored.gmail.id : stored.graph.immutableId,
        messageId: stored.gmail ? stored.gmail.messageIdHeader : stored.graph.internetMessageId,
        deliveredAt: Date.now(),
      });
    } catch (e) {
      results.push({ status: 400, mailbox: address, error: e instanceof Error ? e.message : String(e) });
    }
  }
  return results;
}

export type { BulkDeliveryItem };
