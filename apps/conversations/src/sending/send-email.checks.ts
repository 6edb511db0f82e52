// The pure checks of a CRM send (SND-6 key, who may send, recipients, ATT-1/ATT-2) and the small value helpers the
// use case applies before anything is stored: each throws the AppError the HTTP contract names.
import type { MailboxAddress } from '@mailbridge/contracts';
import { checkAttachments, type AttachmentSizeLimits } from '@mailbridge/domain-mail';
import { AppError } from '@mailbridge/platform-runtime';
import type { ConnectionEntity } from '../connections/connection.entity';
import type { SendEmailAcceptedDto, SendEmailDto } from './dto/send-email.dto';
import type { IdempotencyKeyEntity } from './idempotency-key.entity';
import type { PreparedAttachment } from './send-email.attachments';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** SND-6: every send carries a key, so a retry never sends twice. */
export function requireIdempotencyKey(key: string | undefined): string {
  if (key === undefined || key === '') {
    throw new AppError(
      'validation',
      'idempotency_key_required',
      'The Idempotency-Key header is required: retrying with the same key never sends twice',
    );
  }
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new AppError(
      'validation',
      'invalid_idempotency_key',
      'Idempotency-Key must be 1 to 255 visible ASCII characters',
    );
  }
  return key;
}

/** An earlier request with the same key: the same answer again, or a conflict when the request differs. */
export function replay(
  earlier: IdempotencyKeyEntity,
  requestHash: string,
): { accepted: SendEmailAcceptedDto; replayed: true } {
  if (earlier.requestHash !== requestHash) {
    throw new AppError(
      'conflict',
      'idempotency_key_reused',
      'This Idempotency-Key was used for a different request; use a new key for a new email',
      { messageId: earlier.messageId },
    );
  }
  return { accepted: earlier.response, replayed: true };
}

/** An individual email goes out as the signed-in user only. */
export function checkIndividualSender(body: SendEmailDto, actingUserId: string): void {
  if (body.kind === 'individual' && body.userId !== actingUserId) {
    throw new AppError(
      'forbidden',
      'user_forbidden',
      'An individual email is sent by the signed-in user only',
    );
  }
}

/** To (the contact when the request names none), Cc and Bcc, at most `max` together. */
export function recipientsOf(
  body: SendEmailDto,
  contact: { email: string; name?: string | null },
  max: number,
): { to: MailboxAddress[]; cc: MailboxAddress[]; bcc: MailboxAddress[] } {
  const to = body.to?.length
    ? body.to.map(address)
    : [address({ address: contact.email, name: contact.name ?? undefined })];
  const cc = (body.cc ?? []).map(address);
  const bcc = (body.bcc ?? []).map(address);
  const recipients = to.length + cc.length + bcc.length;
  if (recipients > max) {
    throw new AppError(
      'validation',
      'too_many_recipients',
      `At most ${max} recipients (To, Cc and Bcc together); got ${recipients}`,
      { max, got: recipients },
    );
  }
  return { to, cc, bcc };
}

/** ATT-1 and ATT-2, outbound: any oversized or unsupported attachment refuses the whole send. */
export function checkAttachmentRules(
  attachments: PreparedAttachment[],
  connection: ConnectionEntity | null,
  limits: Required<AttachmentSizeLimits>,
): void {
  if (attachments.length === 0) return;
  // Not through a mailbox: the location's own sending service sends it, with its own limit.
  const verdict = checkAttachments(
    attachments,
    { provider: connection?.provider ?? 'location_provider', limits },
    'outbound',
  );
  if (verdict.outcome !== 'refuse' || !verdict.reason) return;
  throw new AppError('rule_refusal', verdict.reason, verdict.message ?? 'Email not sent', {
    limitBytes: verdict.limitBytes,
    provider: connection?.provider ?? null,
    attachments: verdict.attachments
      .filter((v) => v.status !== 'ok')
      .map((v) => ({ index: v.index, filename: v.filename, size: v.size, reasons: v.reasons })),
  });
}

/** An address as stored and sent: trimmed, a blank name left out. */
export function address(a: { address: string; name?: string | null }): MailboxAddress {
  const name = a.name?.trim();
  return name ? { name, address: a.address.trim() } : { address: a.address.trim() };
}
