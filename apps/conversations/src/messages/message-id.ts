/**
 * A Message-ID (or In-Reply-To) as conversations stores and compares it: without the whitespace a header value can
 * carry around it (a provider's API may return " <id@host>"). SYN-5 matching and the SYN-6 thread order compare ids
 * exactly, so both sides must be in this form.
 */
export function normalizeMessageId(id: string | null | undefined): string | null {
  const trimmed = id?.trim();
  return trimmed ? trimmed : null;
}
