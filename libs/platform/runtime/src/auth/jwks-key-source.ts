import { createPublicKey, KeyObject } from 'node:crypto';

interface Jwk {
  kid?: string;
  kty: string;
  use?: string;
  [k: string]: unknown;
}

/**
 * Public keys of the CRM's identity provider, from its JWKS URL. Cached; an unknown `kid` (key rotation) triggers a
 * refetch, at most once per `minRefetchMs` so a flood of forged kids cannot hammer the provider.
 */
export class JwksKeySource {
  private keys = new Map<string, KeyObject>();
  private fetchedAt = 0;
  private inflight?: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly options: { maxAgeMs?: number; minRefetchMs?: number; fetchFn?: typeof fetch } = {},
  ) {}

  async key(kid: string | undefined): Promise<KeyObject> {
    const maxAge = this.options.maxAgeMs ?? 10 * 60_000;
    if (Date.now() - this.fetchedAt > maxAge) await this.refresh();
    let key = this.find(kid);
    if (!key && Date.now() - this.fetchedAt > (this.options.minRefetchMs ?? 30_000)) {
      await this.refresh();
      key = this.find(kid);
    }
    if (!key) throw new Error(`no signing key ${kid ? `"${kid}" ` : ''}in the JWKS`);
    return key;
  }

  private find(kid: string | undefined): KeyObject | undefined {
    if (kid) return this.keys.get(kid);
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        const res = await (this.options.fetchFn ?? fetch)(this.url, { signal: AbortSignal.timeout(5_000) });
        if (!res.ok) throw new Error(`JWKS ${this.url} answered ${res.status}`);
        const body = (await res.json()) as { keys?: Jwk[] };
        const next = new Map<string, KeyObject>();
        for (const [i, jwk] of (body.keys ?? []).entries()) {
          if (jwk.use && jwk.use !== 'sig') continue;
          next.set(jwk.kid ?? `#${i}`, createPublicKey({ key: jwk as never, format: 'jwk' }));
        }
        this.keys = next;
        this.fetchedAt = Date.now();
      } finally {
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }
}
