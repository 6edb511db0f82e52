import { z } from 'zod';

/**
 * SND-7: identity-connections' answer to `GET /internal/connections/{id}/send-as`, the one shape its two readers
 * (conversations before accepting a send, mail-gateway before each attempt) parse.
 */
export const sendAsAnswer = z.object({
  /** The connected address (always allowed). */
  mailboxAddress: z.string().min(3).max(320),
  /** Verified send-as addresses: Gmail primary and `accepted` aliases; Microsoft SMTP proxy addresses. */
  addresses: z
    .array(
      z.object({
        address: z.string().min(3).max(320),
        displayName: z.string().max(512).nullable(),
        primary: z.boolean(),
        /** The provider's signature for the address (HTML; Gmail), null when it has none. */
        signature: z.string().nullable(),
      }),
    )
    .max(1000),
  appendSignature: z.boolean(),
  /** The signature the CRM set for the connection (plain text; Outlook, where Graph exposes none). */
  signature: z.string().nullable(),
});
export type SendAsAnswer = z.infer<typeof sendAsAnswer>;
