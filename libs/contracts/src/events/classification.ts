import { z } from 'zod';
import { rfcMessageId } from './common';

/**
 * SYN-9 (who wrote it): mail-gateway classifies every message it reads (`classifyMessage` in domain-mail):
 * `human`, `auto_reply` (RFC 3834 and the vendors' automatic-reply markers), `bounce` (a non-delivery report),
 * `bulk` (mailing lists, newsletters).
 */
export const messageClassification = z.enum(['human', 'auto_reply', 'bounce', 'bulk']);
export type MessageClassificationValue = z.infer<typeof messageClassification>;

/** One recipient a non-delivery report says failed. The address is as the report wrote it (not always an addr-spec). */
export const bouncedRecipient = z.object({
  address: z.string().min(3).max(320),
  /** RFC 3463 enhanced status code, e.g. `5.1.1`. */
  status: z.string().max(16).nullable(),
  /** The remote server's answer (`Diagnostic-Code` or the report's text), one line. */
  diagnostic: z.string().max(1000).nullable(),
});

/** What a bounce says: who failed, why, and which message it answers (to find the CRM send). */
export const bounceReport = z.object({
  /** Which shape it was read from: `rfc3464` (a DSN) or a mailer's plain-text report. */
  format: z.enum(['rfc3464', 'postfix', 'exim', 'qmail', 'text']),
  recipients: z.array(bouncedRecipient).max(50),
  status: z.string().max(16).nullable(),
  diagnostic: z.string().max(1000).nullable(),
  /** The Message-ID of the message that bounced. */
  originalMessageId: rfcMessageId.nullable(),
});
export type BounceReportPayload = z.infer<typeof bounceReport>;
