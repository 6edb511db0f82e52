import { randomBytes } from 'node:crypto';
import { TokenCipher, VaultCorruptError, VaultKeyMissingError, parseKeyRing } from './token-cipher';

const key = () => randomBytes(32).toString('base64');

describe('token cipher (AES-256-GCM envelope)', () => {
  const k1 = key();
  const k2 = key();

  it('encrypts with a fresh data key every time and never shows the plaintext', () => {
    const cipher = new TokenCipher(parseKeyRing(`k1:${k1}`));
    const a = cipher.encrypt('1//0secret-refresh-token', 'connection:a');
    const b = cipher.encrypt('1//0secret-refresh-token', 'connection:a');
    expect(a.keyId).toBe('k1');
    expect(a.value).not.toBe(b.value);
    expect(a.value).not.toContain('secret');
    expect(Buffer.from(a.value.split('.')[3], 'base64url').toString('latin1')).not.toContain('secret');
    expect(cipher.decrypt(a.value, 'connection:a')).toBe('1//0secret-refresh-token');
  });

  it('binds a ciphertext to its record: another context does not decrypt', () => {
    const cipher = new TokenCipher(parseKeyRing(`k1:${k1}`));
    const sealed = cipher.encrypt('token', 'connection:a');
    expect(() => cipher.decrypt(sealed.value, 'connection:b')).toThrow(VaultCorruptError);
    const parts = sealed.value.split('.');
    const body = Buffer.from(parts[3], 'base64url');
    body[body.length - 1] ^= 1;
    parts[3] = body.toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'), 'connection:a')).toThrow(VaultCorruptError);
  });

  it('rotates: the first key encrypts, every listed key decrypts, a removed key is reported by id', () => {
    const old = new TokenCipher(parseKeyRing(`k1:${k1}`));
    const sealed = old.encrypt('token', 'c');
    const both = new TokenCipher(parseKeyRing(`k2:${k2},k1:${k1}`));
    expect(both.decrypt(sealed.value, 'c')).toBe('token');
    const rotated = both.reencrypt(sealed.value, 'c');
    expect(rotated.keyId).toBe('k2');
    const onlyNew = new TokenCipher(parseKeyRing(`k2:${k2}`));
    expect(onlyNew.decrypt(rotated.value, 'c')).toBe('token');
    expect(() => onlyNew.decrypt(sealed.value, 'c')).toThrow(VaultKeyMissingError);
  });

  it('rejects malformed key configuration without echoing key material', () => {
    expect(() => parseKeyRing('')).toThrow(/at least one/);
    expect(() => parseKeyRing('k1')).toThrow(/<keyId>:<base64/);
    expect(() => parseKeyRing(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/exactly 32 bytes/);
    expect(() => parseKeyRing(`k1:${k1},k1:${k2}`)).toThrow(/listed twice/);
    try {
      parseKeyRing(`k1:${randomBytes(16).toString('base64')}`);
    } catch (e) {
      expect((e as Error).message).not.toContain(k1);
    }
  });
});
