import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MAX_INLINE_BODY_CHARS } from '@mailbridge/contracts';
import { composeMime } from '@mailbridge/domain-mail';
import type { ObjectBody, ObjectStore } from '@mailbridge/platform-object-store';
import { MessageExcludedError } from '../exclusions/message-excluded.error';
import { MessageNormalizer, headerFromHead } from './message-normalizer.service';

/** An in-memory content-addressed store (the real ones have their own contract suite). */
class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  async put(body: ObjectBody) {
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(body) || body instanceof Uint8Array) chunks.push(Buffer.from(body));
    else for await (const c of body) chunks.push(Buffer.from(c as Buffer));
    const bytes = Buffer.concat(chunks);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `sha256-${sha256}`;
    const created = !this.objects.has(key);
    this.objects.set(key, bytes);
    return { key, sha256, size: bytes.length, created };
  }
  async get(key: string) {
    return Readable.from([this.objects.get(key)!]);
  }
  async head(key: string) {
    return { key, sha256: key.slice(7), size: this.objects.get(key)!.length };
  }
  async exists(key: string) {
    return this.objects.has(key);
  }
}

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(300, 7),
]);

const KEEP_RAW = { STORE_RAW_MESSAGES: true };

describe('MessageNormalizer', () => {
  const source = (raw: Buffer | Readable, over: Partial<{ inSent: boolean }> = {}) => ({
    provider: 'google' as const,
    providerMessageId: 'm1',
    providerThreadId: 't1',
    receivedAt: new Date('2026-01-02T03:04:05.000Z'),
    labels: ['INBOX'],
    inSent: false,
    raw,
    ...over,
  });

  it('a streamed message is spooled through the store (kept as its raw copy), every attachment stored by content, our reference header read', async () => {
    const store = new MemoryStore();
    const { raw } = await composeMime({
      from: 'Ann <ann@example.com>',
      to: ['sam@example.com'],
      subject: 'Hi',
      text: 'Body',
      messageId: '<x1@example.com>',
      attachments: [{ filename: 'p.png', content: PNG, contentType: 'image/png' }],
      headers: { 'X-Mailbridge-Ref': 'send-42' },
    });
    const normalized = await new MessageNormalizer(store).normalize(
      source(Readable.from([raw])),
      'SAM@example.com',
    );
    expect(normalized.direction).toBe('inbound');
    expect(normalized.message).toMatchObject({
      rfcMessageId: '<x1@example.com>',
      from: { name: 'Ann', address: 'ann@example.com' },
      mailbridgeRef: 'send-42',
      receivedAt: '2026-01-02T03:04:05.000Z',
      attachments: [{ filename: 'p.png', detectedKind: 'png', size: PNG.length, inline: false }],
    });
    expect(store.objects.get(normalized.message.rawObjectKey!)).toEqual(raw);
    expect(store.objects.get(normalized.message.attachments[0].objectKey!)).toEqual(PNG);
  });

  it('direction is outbound for the owner (case-insensitive) or anything in Sent; bodies are truncated to the contract', async () => {
    const store = new MemoryStore();
    const { raw } = await composeMime({
      from: 'sam@example.com',
      to: ['x@example.com'],
      subject: 'Long',
      text: 'a'.repeat(MAX_INLINE_BODY_CHARS + 10),
    });
    const n = await new MessageNormalizer(store).normalize(source(raw), 'Sam@Example.com');
    expect(n.direction).toBe('outbound');
    expect(n.message.bodyTruncated).toBe(true);
    expect(n.message.text).toHaveLength(MAX_INLINE_BODY_CHARS);
    const sent = await new MessageNormalizer(store).normalize(
      source(raw, { inSent: true }),
      'other@example.com',
    );
    expect(sent.direction).toBe('outbound');
  });

  it('loss path 1: NUL in subject (=?UTF-8?B?aGVsbG8A?=), body, display name, file name, labels and id becomes U+FFFD; the raw MIME stays byte-exact', async () => {
    const store = new MemoryStore();
    const raw = Buffer.concat([
      Buffer.from(
        'From: =?UTF-8?B?Sm8ARG9l?= <jo@example.com>\r\nTo: sam@example.com\r\n' +
          'Subject: =?UTF-8?B?aGVsbG8A?=\r\nMessage-ID: <n1@example.com>\r\nMIME-Version: 1.0\r\n' +
          'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' +
          '--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nhi',
      ),
      Buffer.from([0x00]),
      Buffer.from(
        'there\r\n--b\r\nContent-Type: image/png\r\n' +
          "Content-Disposition: attachment; filename*=UTF-8''p%00.png\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
          `${PNG.toString('base64')}\r\n--b--\r\n`,
      ),
    ]);
    const { message, labels } = await new MessageNormalizer(store, undefined, KEEP_RAW).normalize(
      { ...source(raw), providerMessageId: 'm\u0000', labels: ['IN\u0000BOX', 'x\uD800'] },
      'sam@example.com',
    );
    expect(message).toMatchObject({
      providerMessageId: 'm\uFFFD',
      subject: 'hello\uFFFD',
      text: expect.stringContaining('hi\uFFFDthere'),
      from: { name: 'Jo\uFFFDDoe', address: 'jo@example.com' },
      attachments: [expect.objectContaining({ filename: 'p\uFFFD.png', size: PNG.length })],
    });
    expect(labels).toEqual(['IN\uFFFDBOX', 'x\uFFFD']);
    // What jsonb would refuse: a NUL or a lone surrogate, raw or as the escape JSON.stringify writes for it.
    const json = JSON.stringify(message);
    expect(json.includes('\u0000') || /\\u0000|\\ud[89a-f]/i.test(json)).toBe(false);
    expect(store.objects.get(message.rawObjectKey!)).toEqual(raw);
  });

  it('bytes in memory: the raw message is stored and named only with STORE_RAW_MESSAGES; attachments always', async () => {
    const { raw } = await composeMime({
      from: 'ann@example.com',
      to: ['sam@example.com'],
      subject: 'Hi',
      text: 'Body',
      attachments: [{ filename: 'p.png', content: PNG, contentType: 'image/png' }],
    });
    const rawKey = `sha256-${createHash('sha256').update(raw).digest('hex')}`;

    const store = new MemoryStore();
    const plain = await new MessageNormalizer(store).normalize(source(raw), 'sam@example.com');
    expect(plain.message.rawObjectKey).toBeUndefined();
    expect('rawObjectKey' in plain.message).toBe(false);
    expect([...store.objects.keys()]).toEqual([plain.message.attachments[0].objectKey]);
    expect(plain.message).toMatchObject({ subject: 'Hi', text: expect.stringContaining('Body') });

    const kept = new MemoryStore();
    const withRaw = await new MessageNormalizer(kept, undefined, KEEP_RAW).normalize(
      source(raw),
      'sam@example.com',
    );
    expect(withRaw.message.rawObjectKey).toBe(rawKey);
    expect(kept.objects.get(rawKey)).toEqual(raw);
    // Everything else is the same message either way.
    const { rawObjectKey: _kept, ...rest } = withRaw.message;
    expect(rest).toEqual(plain.message);
  });

  it('SYN-8: an excluded message stores nothing, not even with its raw kept (bytes, smart-BCC, stream)', async () => {
    const { raw } = await composeMime({
      from: 'alerts@bank.example',
      to: ['sam@example.com'],
      subject: 'Statement',
      text: 'Balance',
      attachments: [{ filename: 'p.png', content: PNG, contentType: 'image/png' }],
    });
    const exclude = async () =>
      ({ rule: 'SYN-8', reason: 'domain', scope: 'location', matched: 'bank.example' }) as const;
    for (const input of [source(raw), { ...source(raw), keepRaw: true }, source(Readable.from([raw]))]) {
      const store = new MemoryStore();
      await expect(
        new MessageNormalizer(store, undefined, KEEP_RAW).normalize(input, 'sam@example.com', exclude),
      ).rejects.toBeInstanceOf(MessageExcludedError);
      expect(store.objects.size).toBe(0);
    }
  });

  it('smart-BCC mail (keepRaw) keeps its raw message with STORE_RAW_MESSAGES off', async () => {
    const store = new MemoryStore();
    const { raw } = await composeMime({
      from: 'sam@example.com',
      to: ['lead@example.org'],
      subject: 'Hi',
      text: 'x',
    });
    const { message } = await new MessageNormalizer(store).normalize(
      { ...source(raw), keepRaw: true },
      'sam@example.com',
    );
    expect(store.objects.get(message.rawObjectKey!)).toEqual(raw);
  });

  it('headerFromHead unfolds and matches names case-insensitively, only in the top header block', () => {
    const head = Buffer.from('Subject: a\r\nx-mailbridge-REF: one\r\n two\r\n\r\nX-Mailbridge-Ref: body\r\n');
    expect(headerFromHead(head, 'X-Mailbridge-Ref')).toBe('one two');
    expect(headerFromHead(Buffer.from('Subject: a\r\n\r\n'), 'X-Mailbridge-Ref')).toBeUndefined();
  });
});
