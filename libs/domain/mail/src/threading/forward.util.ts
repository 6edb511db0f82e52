import { hasForwardPrefix } from './subject.util';

// Separator lines clients put above a forwarded message. Outlook's "-----Original Message-----" is left
// out on purpose: Outlook writes it above quoted replies too, and Outlook forwards say "FW:" anyway.
const FORWARD_MARKERS = [
  /^-{5,}\s*Forwarded message\s*-{5,}\s*$/im, // Gmail
  /^-{5,}\s*Forwarded Message\s*-{5,}\s*$/im, // Thunderbird
  /^\s*Begin forwarded message:\s*$/im, // Apple Mail
  /^-{5,}\s*Weitergeleitete Nachricht\s*-{5,}\s*$/im,
  /^-{5,}\s*Message transféré\s*-{5,}\s*$/im,
];

/**
 * ADR-4: does this message look like a forward the user made? True when the outermost subject prefix is a
 * forward prefix ("Fwd:", "FW:", "WG:", ...) or the text body carries a client's forwarded-message separator.
 * Heuristic by nature: the sync engine uses it to record a user's forward to a contact as outbound.
 */
export function isForward(message: { subject?: string | null; text?: string | null }): boolean {
  if (hasForwardPrefix(message.subject)) return true;
  const text = message.text ?? '';
  return FORWARD_MARKERS.some((marker) => marker.test(text));
}
