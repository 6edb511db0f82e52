import jwt, { JwtHeader, SigningKeyCallback } from 'jsonwebtoken';
import { AppError } from '../http/app-error';
import { JwksKeySource } from './jwks-key-source';

export interface AuthConfig {
  /** HS256 shared secret (the embedded default generates one). */
  readonly jwtSecret?: string;
  /** RS256/ES256 keys published by the CRM's identity provider. */
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/** The signed-in CRM user a request acts for. */
export interface CrmPrincipal {
  readonly userId: string;
  readonly locationId: string;
}

/** Verifies the CRM gateway's bearer tokens: signature, expiry, and the `sub` / `loc` claims we rely on. */
export class JwtVerifier {
  private readonly jwks?: JwksKeySource;

  constructor(private readonly config: AuthConfig) {
    if (!config.jwtSecret && !config.jwksUrl)
      throw new Error('AUTH_JWT_SECRET or AUTH_JWKS_URL must be configured');
    if (config.jwksUrl) this.jwks = new JwksKeySource(config.jwksUrl);
  }

  async verify(token: string): Promise<CrmPrincipal> {
    const payload = await new Promise<jwt.JwtPayload>((resolve, reject) => {
      jwt.verify(
        token,
        (header: JwtHeader, cb: SigningKeyCallback) => this.key(header, cb),
        {
          algorithms: this.config.jwksUrl ? ['RS256', 'ES256'] : ['HS256'],
          ...(this.config.issuer ? { issuer: this.config.issuer } : {}),
          ...(this.config.audience ? { audience: this.config.audience } : {}),
        },
        (err, decoded) => {
          if (err || !decoded || typeof decoded === 'string') {
            reject(
              new AppError(
                'unauthenticated',
                'invalid_token',
                `Bearer token rejected: ${err?.message ?? 'malformed'}`,
              ),
            );
          } else resolve(decoded);
        },
      );
    });
    const loc = payload['loc'];
    if (typeof payload.sub !== 'string' || !payload.sub || typeof loc !== 'string' || !loc) {
      throw new AppError(
        'unauthenticated',
        'invalid_token',
        'Bearer token must carry "sub" and "loc" claims',
      );
    }
    return { userId: payload.sub, locationId: loc };
  }

  private key(header: JwtHeader, cb: SigningKeyCallback): void {
    if (!this.jwks) return cb(null, this.config.jwtSecret);
    this.jwks.key(header.kid).then(
      (key) => cb(null, key),
      (err: Error) => cb(err),
    );
  }
}

/** Signs a CRM token (the embedded default's `npm run token`, and tests). */
export function signCrmToken(
  secret: string,
  principal: CrmPrincipal,
  options: { expiresInSeconds?: number; issuer?: string; audience?: string } = {},
): string {
  return jwt.sign({ loc: principal.locationId }, secret, {
    algorithm: 'HS256',
    subject: principal.userId,
    expiresIn: options.expiresInSeconds ?? 3600,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  });
}
