import { randomBytes } from 'node:crypto';

/**
 * Every id the emulators mint comes from here. With a seed the sequence is reproducible (tests that snapshot ids),
 * without one it is random. sfc32 is enough: the ids must look real and not collide, not be secret.
 */
export class IdFactory {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed?: number) {
    const s = seed ?? randomBytes(4).readUInt32LE(0);
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = s >>> 0;
    for (let i = 0; i < 15; i++) this.next();
  }

  /** Next 32-bit unsigned integer. */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + (this.next() % (max - min + 1));
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 4) {
      const n = this.next();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (n >>> (j * 8)) & 0xff;
    }
    return out;
  }

  hex(length: number): string {
    return this.bytes(Math.ceil(length / 2))
      .toString('hex')
      .slice(0, length);
  }

  base64url(byteLength: number): string {
    return this.bytes(byteLength).toString('base64url');
  }

  digits(length: number): string {
    let out = String(this.int(1, 9));
    while (out.length < length) out += String(this.next() % 10);
    return out;
  }

  alphanumeric(length: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.next() % alphabet.length];
    return out;
  }

  /** RFC 4122 version-4 shaped GUID. */
  guid(): string {
    const b = this.bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = b.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
}
