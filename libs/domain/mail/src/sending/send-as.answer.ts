import { sendAsAnswer, type SendAsAnswer } from '@mailbridge/contracts';
import type { SendAsProfile } from './send-as.rule';

/** SND-7: a mailbox's send-as profile as identity-connections answers it over HTTP. */
export function toSendAsAnswer(p: SendAsProfile): SendAsAnswer {
  return {
    mailboxAddress: p.mailboxAddress,
    addresses: p.addresses.map((a) => ({
      address: a.address,
      displayName: a.displayName ?? null,
      primary: a.primary,
      signature: a.signatureHtml ?? null,
    })),
    appendSignature: p.appendSignature,
    signature: p.crmSignature ?? null,
  };
}

/** The answer read back; anything that is not the contract's shape is no answer (`null`), never a guess. */
export function sendAsProfileFromAnswer(body: unknown): SendAsProfile | null {
  const parsed = sendAsAnswer.safeParse(body);
  if (!parsed.success) return null;
  const a = parsed.data;
  return {
    mailboxAddress: a.mailboxAddress,
    addresses: a.addresses.map((x) => ({
      address: x.address,
      displayName: x.displayName,
      primary: x.primary,
      signatureHtml: x.signature,
    })),
    appendSignature: a.appendSignature,
    crmSignature: a.signature,
  };
}
