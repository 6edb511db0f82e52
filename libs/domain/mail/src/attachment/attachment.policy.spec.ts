import {
  attachmentSizeLimit,
  attachmentSizeLimitsSchema,
  checkAttachments,
  DEFAULT_ATTACHMENT_SIZE_LIMITS,
  formatSize,
  isSupportedAttachmentKind,
  MB,
  type AttachmentToCheck,
} from './attachment.policy';

const file = (filename: string, size: number, supported = true): AttachmentToCheck => ({
  filename,
  size,
  detected: { supported },
});

describe('attachment size limits', () => {
  it('ATT-1: defaults are 3 MB for Outlook and 25 MB for Gmail, in binary megabytes', () => {
    expect(MB).toBe(1048576);
    expect(DEFAULT_ATTACHMENT_SIZE_LIMITS).toEqual({ microsoft: 3 * 1048576, google: 25 * 1048576 });
    expect(attachmentSizeLimit('microsoft')).toBe(3145728);
    expect(attachmentSizeLimit('google', { google: 10 * MB })).toBe(10 * MB);
    expect(attachmentSizeLimit('microsoft', { google: 10 * MB })).toBe(3 * MB);
  });

  it('rejects nonsense limits', () => {
    expect(() => attachmentSizeLimit('google', { google: 0 })).toThrow(RangeError);
    expect(() => attachmentSizeLimit('google', { google: 1.5 })).toThrow(RangeError);
    expect(attachmentSizeLimitsSchema.safeParse({ google: 1024 }).success).toBe(true);
    expect(attachmentSizeLimitsSchema.safeParse({ google: -1 }).success).toBe(false);
    expect(attachmentSizeLimitsSchema.safeParse({ yahoo: 1 }).success).toBe(false);
  });

  it('formats sizes in the same binary units', () => {
    expect(formatSize(3 * MB)).toBe('3 MB');
    expect(formatSize(2.5 * MB)).toBe('2.5 MB');
    expect(formatSize(512 * 1024)).toBe('512 KB');
    expect(formatSize(12)).toBe('12 bytes');
  });
});

describe('checkAttachments', () => {
  it('ATT-1: an attachment exactly at the limit is fine, one byte more is too large', () => {
    const atLimit = checkAttachments([file('a.pdf', 3 * MB)], { provider: 'microsoft' }, 'inbound');
    expect(atLimit.outcome).toBe('accept');
    expect(atLimit.attachments[0]).toMatchObject({ status: 'ok', action: 'keep', reasons: [] });
    const over = checkAttachments([file('a.pdf', 3 * MB + 1)], { provider: 'microsoft' }, 'inbound');
    expect(over.outcome).toBe('skip');
  });

  it('ATT-1: inbound, a message with an oversized attachment is skipped with the reason (default policy)', () => {
    const result = checkAttachments(
      [file('small.pdf', 1000), file('huge.zip', 30 * MB)],
      { provider: 'google' },
      'inbound',
    );
    expect(result).toMatchObject({ outcome: 'skip', reason: 'attachment_too_large', limitBytes: 25 * MB });
    expect(result.message).toBe(
      'Message not synced: "huge.zip" (30 MB) is larger than the 25 MB limit for Gmail',
    );
    expect(result.attachments.map((a) => a.status)).toEqual(['ok', 'oversized']);
  });

  it('ATT-1: inbound under policy strip, the message syncs and the oversized attachment is left behind with a note', () => {
    const result = checkAttachments(
      [file('small.pdf', 1000), file('big.pdf', 4 * MB)],
      { provider: 'microsoft', policy: 'strip' },
      'inbound',
    );
    expect(result.outcome).toBe('accept');
    expect(result.reason).toBeUndefined();
    expect(result.attachments).toEqual([
      { index: 0, filename: 'small.pdf', size: 1000, status: 'ok', reasons: [], action: 'keep' },
      {
        index: 1,
        filename: 'big.pdf',
        size: 4 * MB,
        status: 'oversized',
        reasons: ['attachment_too_large'],
        action: 'leave_behind',
        note: '"big.pdf" (4 MB) is larger than the 3 MB limit for Outlook',
      },
    ]);
  });

  it('ATT-2: inbound, an unsupported attachment is left behind with a note and the message still syncs', () => {
    const result = checkAttachments(
      [file('tool.exe', 1000, false), file('a.png', 10)],
      { provider: 'google' },
      'inbound',
    );
    expect(result.outcome).toBe('accept');
    expect(result.attachments[0]).toMatchObject({
      status: 'unsupported',
      reasons: ['attachment_type_unsupported'],
      action: 'leave_behind',
    });
    expect(result.attachments[0].note).toContain('"tool.exe" is not a supported attachment type');
    expect(result.attachments[1]).toMatchObject({ status: 'ok', action: 'keep' });
  });

  it('ATT-1: outbound, an oversized attachment refuses the send whatever the inbound policy', () => {
    const result = checkAttachments(
      [file('big.pdf', 4 * MB)],
      { provider: 'microsoft', policy: 'strip' },
      'outbound',
    );
    expect(result).toMatchObject({ outcome: 'refuse', reason: 'attachment_too_large' });
    expect(result.message).toBe('Email not sent: "big.pdf" (4 MB) is larger than the 3 MB limit for Outlook');
  });

  it('ATT-2: outbound, an unsupported type refuses the send; too large is reported first when both occur', () => {
    const unsupported = checkAttachments([file('x.exe', 10, false)], { provider: 'google' }, 'outbound');
    expect(unsupported).toMatchObject({ outcome: 'refuse', reason: 'attachment_type_unsupported' });
    const both = checkAttachments(
      [file('x.exe', 10, false), file('y.iso', 26 * MB, false)],
      { provider: 'google' },
      'outbound',
    );
    expect(both.reason).toBe('attachment_too_large');
    expect(both.attachments[1]).toMatchObject({
      status: 'oversized',
      reasons: ['attachment_too_large', 'attachment_type_unsupported'],
    });
    expect(both.message).toContain('"y.iso"');
    expect(both.message).toContain('"x.exe"');
  });

  it('ATT-1: outbound through the location provider, its own limit applies (25 MB by default) and the refusal names it', () => {
    expect(attachmentSizeLimit('location_provider')).toBe(25 * MB);
    const refused = checkAttachments(
      [file('deck.pdf', 11 * MB)],
      { provider: 'location_provider', limits: { location_provider: 10 * MB, microsoft: 3 * MB } },
      'outbound',
    );
    expect(refused).toMatchObject({ outcome: 'refuse', reason: 'attachment_too_large', limitBytes: 10 * MB });
    expect(refused.message).toBe(
      `Email not sent: "deck.pdf" (11 MB) is larger than the 10 MB limit for the location's sending service`,
    );
    expect(
      checkAttachments([file('deck.pdf', 11 * MB)], { provider: 'location_provider' }, 'outbound').outcome,
    ).toBe('accept');
  });

  it('ATT-2: a detected kind is supported only when it is one of the supported kinds; no detection fails closed', () => {
    expect(isSupportedAttachmentKind('pdf')).toBe(true);
    expect(isSupportedAttachmentKind('PNG')).toBe(true);
    expect(isSupportedAttachmentKind('unknown')).toBe(false);
    expect(isSupportedAttachmentKind(undefined)).toBe(false);
    expect(isSupportedAttachmentKind(null)).toBe(false);
  });

  it('ATT-1: configured limits replace the defaults', () => {
    const result = checkAttachments(
      [file('a.pdf', 5 * MB)],
      { provider: 'microsoft', limits: { microsoft: 10 * MB } },
      'outbound',
    );
    expect(result.outcome).toBe('accept');
  });

  it('accepts a message without attachments and names unnamed attachments by position', () => {
    expect(checkAttachments([], { provider: 'google' }, 'outbound')).toEqual({
      outcome: 'accept',
      limitBytes: 25 * MB,
      attachments: [],
    });
    const unnamed = checkAttachments(
      [{ size: 26 * MB, detected: { supported: true } }],
      { provider: 'google' },
      'inbound',
    );
    expect(unnamed.message).toContain('Attachment 1 (26 MB)');
  });
});
