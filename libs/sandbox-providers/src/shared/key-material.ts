import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { generate } from 'selfsigned';

/** An RS256 signing key with the forms the certificate endpoints publish. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  /** X.509 certificate of the key, the form Google's `/oauth2/v1/certs` serves. */
  readonly certificatePem: string;
  readonly jwk: Record<string, string>;
}

export interface TlsMaterial {
  /** The emulators' CA: the one certificate a client has to trust. */
  readonly caCertPem: string;
  readonly keyPem: string;
  /** Leaf certificate for `localhost`, `127.0.0.1` and `::1`, signed by the CA. */
  readonly certPem: string;
}

export interface KeyMaterial {
  readonly tls: TlsMaterial;
  readonly google: SigningKey;
  readonly microsoft: SigningKey;
}

async function signingKey(commonName: string): Promise<SigningKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = await generate([{ name: 'commonName', value: commonName }], {
    algorithm: 'sha256',
    keyPair: { privateKey, publicKey },
    notAfterDate: new Date(Date.now() + 2 * 365 * 86_400_000),
  });
  const jwk = createPublicKey(publicKey).export({ format: 'jwk' }) as Record<string, string>;
  // Google kids are 40 hex chars (a SHA-1 of the key); Microsoft's are shorter base64url strings.
  const digest = createHash('sha1').update(publicKey).digest();
  const kid = commonName.includes('google')
    ? digest.toString('hex')
    : digest.toString('base64url').slice(0, 27);
  return {
    kid,
    privateKeyPem: privateKey,
    publicKeyPem: publicKey,
    certificatePem: cert.cert,
    jwk: { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: jwk.n, e: jwk.e },
  };
}

async function tlsMaterial(hostnames: string[]): Promise<TlsMaterial> {
  const notAfterDate = new Date(Date.now() + 2 * 365 * 86_400_000);
  // A unique subject per CA: OpenSSL picks trust anchors by subject, so two sandbox CAs with the same name in one
  // process (several sandboxes, one trusted after the other) would fail with "certificate signature failure".
  const ca = await generate(
    [{ name: 'commonName', value: `Mailbridge Sandbox Providers CA ${randomBytes(4).toString('hex')}` }],
    {
      algorithm: 'sha256',
      notAfterDate,
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  const names = [...new Set(['localhost', ...hostnames])];
  const leaf = await generate([{ name: 'commonName', value: 'localhost' }], {
    algorithm: 'sha256',
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
          ...names.filter((n) => !/^[\d.:]+$/.test(n)).map((value) => ({ type: 2 as const, value })),
        ],
      },
    ],
  });
  return { caCertPem: ca.cert, keyPem: leaf.private, certPem: leaf.cert };
}

const cache = new Map<string, Promise<KeyMaterial>>();

/**
 * Keys and certificates of one sandbox. RSA key generation is the slowest part of starting the emulators, so the
 * material is shared by every sandbox of the process that asks for the same host names (tests start many).
 */
export function keyMaterial(hostnames: string[] = [], fresh = false): Promise<KeyMaterial> {
  const key = [...hostnames].sort().join(',');
  const existing = cache.get(key);
  if (existing && !fresh) return existing;
  const created = (async () => ({
    tls: await tlsMaterial(hostnames),
    google: await signingKey('sandbox google signing'),
    microsoft: await signingKey('sandbox microsoft signing'),
  }))();
  if (!fresh) cache.set(key, created);
  return created;
}

// Parsing the PEM on every signature cost more than the RSA signature itself: parse each key once.
const privateKeys = new Map<string, KeyObject>();
function privateKeyOf(pem: string): KeyObject {
  let key = privateKeys.get(pem);
  if (!key) {
    key = createPrivateKey(pem);
    privateKeys.set(pem, key);
  }
  return key;
}

/** Signs a compact RS256 JWT. */
export function signJwt(
  key: SigningKey,
  payload: Record<string, unknown>,
  extraHeader: Record<string, string> = {},
): string {
  const header = { alg: 'RS256', kid: key.kid, typ: 'JWT', ...extraHeader };
  const input = `${b64json(header)}.${b64json(payload)}`;
  const signature = sign('RSA-SHA256', Buffer.from(input), privateKeyOf(key.privateKeyPem)).toString(
    'base64url',
  );
  return `${input}.${signature}`;
}

/** Decodes a JWT payload without verifying it (the emulators verify their own tokens by lookup). */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
