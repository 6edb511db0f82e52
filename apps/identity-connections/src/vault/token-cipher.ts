import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** One key-encryption key from configuration, named so ciphertexts say which key wrapped them. */
export interface VaultKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The configured keys: the first encrypts, all decrypt (so keys rotate without downtime). */
export interface KeyRing {
  readonly primary: VaultKey;
  readonly keys: ReadonlyMap<string, Buffer>;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Parses `TOKEN_ENCRYPTION_KEYS`: `<keyId>:<base64 of 32 bytes>[,<keyId>:<base64>…]`. Never echoes key material. */
export function parseKeyRing(spec: string): KeyRing {
  const entries = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('must list at least one <keyId>:<base64 key>');
  const keys = new Map<string, Buffer>();
  let primary: VaultKey | undefined;
  for (const entry of entries) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    if (!KEY_ID.test(id)) throw new Error('entries must look like <keyId>:<base64 of 32 bytes>');
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (key.length !== 32) throw new Error(`key "${id}" must be the base64 of exactly 32 bytes`);
    if (keys.has(id)) throw new Error(`key id "${id}" is listed twice`);
    keys.set(id, key);
    primary ??= { id, key };
  }
  return { primary: primary as VaultKey, keys };
}

/** A secret derived from the primary key for another purpose (e.g. signing OAuth state), so embedded needs nothing. */
export function deriveSecret(ring: KeyRing, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', ring.primary.key, Buffer.alloc(0), `mailbridge:${purpose}`, 32));
}

export class VaultKeyMissingError extends Error {
  readonly code = 'token_key_missing';
  constructor(readonly keyId: string) {
    super(`A stored token was encrypted with key "${keyId}", which is not configured`);
    this.name = 'VaultKeyMissingError';
  }
}

export class VaultCorruptError extends Error {
  readonly code = 'token_ciphertext_invalid';
  constructor() {
    super('A stored token could not be decrypted (tampered, or bound to another record)');
    this.name = 'VaultCorruptError';
  }
}

const VERSION = 'v1';
const IV = 12;
const TAG = 16;

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV + TAG) throw new VaultCorruptError();
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(IV, IV + TAG));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV + TAG)), decipher.final()]);
  } catch {
    throw new VaultCorruptError();
  }
}

export interface Sealed {
  readonly keyId: string;
  /** `v1.<keyId>.<wrapped data key>.<ciphertext>`, base64url parts. */
  readonly value: string;
}

/**
 * AES-256-GCM envelope encryption: every value gets its own random data key, which is itself sealed with the
 * configured key (the key id travels in clear so any configured key can open it). `context` (e.g. the connection id)
 * is authenticated data: a ciphertext copied onto another record does not decrypt.
 */
export class TokenCipher {
  constructor(private readonly ring: KeyRing) {}

  get primaryKeyId(): string {
    return this.ring.primary.id;
  }

  encrypt(plaintext: string, context: string): Sealed {
    const { id, key } = this.ring.primary;
    const dataKey = randomBytes(32);
    try {
      const wrapped = seal(key, dataKey, `mailbridge:dek:${VERSION}:${id}`);
      const body = seal(dataKey, Buffer.from(plaintext, 'utf8'), `mailbridge:token:${VERSION}:${context}`);
      return {
        keyId: id,
        value: [VERSION, id, wrapped.toString('base64url'), body.toString('base64url')].join('.'),
      };
    } finally {
      dataKey.fill(0);
    }
  }

  decrypt(value: string, context: string): string {
    const [version, id, wrapped, body, extra] = value.split('.');
    if (version !== VERSION || !id || !wrapped || !body || extra !== undefined) throw new VaultCorruptError();
    const key = this.ring.keys.get(id);
    if (!key) throw new VaultKeyMissingError(id);
    const dataKey = open(key, Buffer.from(wrapped, 'base64url'), `mailbridge:dek:${VERSION}:${id}`);
    try {
      return open(dataKey, Buffer.from(body, 'base64url'), `mailbridge:token:${VERSION}:${context}`).toString(
        'utf8',
      );
    } finally {
      dataKey.fill(0);
    }
  }

  /** Re-encrypts with the primary key (a fresh data key too). */
  reencrypt(value: string, context: string): Sealed {
    return this.encrypt(this.decrypt(value, context), context);
  }
}
