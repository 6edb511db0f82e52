import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { canonicalMessage } from '@mailbridge/contracts';
import type { ObjectBody, ObjectStore } from '@mailbridge/platform-object-store';
import { MessageNormalizer } from './message-normalizer.service';

class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, Buffer>();
  async put(body: ObjectBody) {
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(body) || body instanceof Uint8Array) chunks.push(Buffer.from(body));
    else for await (const c of body) chunks.push(Buffer.from(c as Buffer));
    const bytes = Buffer.concat(chunks);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `sha256-${sha256}`;
    this.objects.set(key, bytes);
    return { key, sha256, size: bytes.length, created: true };
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

/** A corpus fixture of domain-mail, without its comment lines, with CRLF line ends. */
function fixture(name: string): Buffer {
  const text = readFileSync(
    join(__dirname, '../../../../libs/domain/mail/src/classification/fixtures', name),
    'utf8',
  );
  return Buffer.from(
    text
      .split('\n')
      .filter((l) => !l.startsWith('# '))
      .join('\r\n'),
  );
}

const source = (raw: Buffer | Readable) => ({
  provider: 'google' as const,
  providerMessageId: 'm1',
  providerThreadId: 't1',
  receivedAt: new Date('2026-08-04T09:05:00.000Z'),
  labels: ['INBOX'],
  inSent: false,
  raw,
});

describe('MessageNormalizer classification (SYN-9)', () => {
  it.each([
    ['a buffer', (b: Buffer) => b],
    ['a stream', (b: Buffer) => Readable.from([b])],
  ])(
    'SYN-9: a Gmail bounce read from %s carries classification and bounce details in the contract',
    async (_n, wrap) => {
      const normalized = await new MessageNormalizer(new MemoryStore()).normalize(
        source(wrap(fixture('gmail-ndr.eml'))),
        'sam@crm.example',
      );
      expect(canonicalMessage.parse(normalized.message)).toEqual(normalized.message);
      expect(normalized.message.classification).toBe('bounce');
      expect(normalized.message.bounce).toMatchObject({
        format: 'rfc3464',
        status: '5.1.1',
        originalMessageId: '<crm-send-11@mailbridge.example>',
        recipients: [{ address: 'no-such-person@client.example', status: '5.1.1' }],
      });
    },
  );

  it.each([
    ['exchange-oof.eml', 'auto_reply'],
    ['mailman-list.eml', 'bulk'],
    ['human-reply.eml', 'human'],
  ])('SYN-9: %s is %s on the observed message, without bounce details', async (name, expected) => {
    const normalized = await new MessageNormalizer(new MemoryStore()).normalize(
      source(fixture(name)),
      'sam@crm.example',
    );
    expect(normalized.message.classification).toBe(expected);
    expect(normalized.message.bounce).toBeUndefined();
    expect(canonicalMessage.safeParse(normalized.message).success).toBe(true);
  });
});
