import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Opaque ids from the CRM (location, user, contact): non-empty, no whitespace, bounded. */
export const crmId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s/]+$/, 'must not contain whitespace or "/"');

export const isoDateTime = z.iso.datetime({ offset: true });

/** An email address as exchanged between services (already validated at the edge). */
export const emailAddress = z
  .string()
  .min(3)
  .max(320)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an email address');

/** A mailbox (display name optional), as in a From/To header. */
export const mailboxAddress = z.object({ name: z.string().max(512).optional(), address: emailAddress });
export type MailboxAddress = z.infer<typeof mailboxAddress>;

export const providerName = z.enum(['google', 'microsoft']);
export type ProviderName = z.infer<typeof providerName>;

/** SYN-3: which mail of a connected mailbox syncs. */
export const syncScope = z.enum(['crm_threads', 'contact_mail']);
export type SyncScope = z.infer<typeof syncScope>;

/** RFC 5322 Message-ID including its angle brackets. */
export const rfcMessageId = z.string().min(3).max(998);

/** Content-addressed object store key (`sha256-<hex>`), as produced by the object-store lib. */
export const objectKey = z
  .string()
  .regex(/^sha256-[0-9a-f]{64}$/, 'must be an object store key (sha256-<hex>)');

/** An attachment as it travels in events: bytes stay in the object store (ATT-3). */
export const attachmentRef = z.object({
  /** Absent when the bytes were left behind (omittedReason says why). */
  objectKey: objectKey.optional(),
  filename: z.string().max(1024),
  /** What the sender declared. */
  contentType: z.string().max(255),
  /** What the bytes are (ATT-2), e.g. `pdf`, `png`, `unknown`. */
  detectedKind: z.string().max(32).optional(),
  size: z.number().int().nonnegative(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  contentId: z.string().max(998).optional(),
  inline: z.boolean().optional(),
  /** Set when the attachment was not synced: `attachment_too_large`, `attachment_type_unsupported`. */
  omittedReason: z.string().max(64).optional(),
});
export type AttachmentRef = z.infer<typeof attachmentRef>;

/**
 * The conversation of a contact in a location (one per contact per location) has a deterministic id, so sync-engine
 * and conversations agree on it without asking each other. UUID v5-style (SHA-1 of a fixed namespace + the pair).
 */
export function conversationIdFor(locationId: string, contactId: string): string {
  const hash = createHash('sha1').update(`mailbridge:conversation:${locationId}\u0000${contactId}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
