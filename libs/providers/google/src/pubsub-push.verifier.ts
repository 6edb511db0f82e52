import { OAuth2Client } from 'google-auth-library';

export interface PushVerifierConfig {
  /** `GOOGLE_OAUTH_CERTS_URL`: Google's PEM certificates (`https://www.googleapis.com/oauth2/v1/certs`). */
  readonly certsUrl: string;
  /** The audience the push subscription puts in its tokens. */
  readonly audience: string;
  /** The service account the push subscription signs as. */
  readonly serviceAccountEmail: string;
  readonly fetchImplementation?: typeof fetch;
}

export type PushRejection = 'missing_token' | 'invalid_token' | 'wrong_service_account';

export class PushVerificationError extends Error {
  constructor(
    readonly reason: PushRejection,
    message: string,
  ) {
    super(message);
    this.name = 'PushVerificationError';
  }
}

/** What a Gmail notification says: which mailbox changed, and its history id after the change. */
export interface GmailPushNotification {
  readonly emailAddress: string;
  readonly historyId: string;
  readonly messageId?: string;
}

/**
 * Verifies the OIDC token of a Pub/Sub push (signature against Google's certificates, issuer, audience, expiry) and
 * that it was minted for our push service account with a verified email. google-auth-library caches the
 * certificates for their `Cache-Control: max-age`.
 */
export class PushTokenVerifier {
  private readonly client: OAuth2Client;

  constructor(private readonly config: PushVerifierConfig) {
    this.client = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: config.certsUrl },
      transporterOptions: { fetchImplementation: config.fetchImplementation ?? fetch },
    });
  }

  async verify(authorization: string | undefined): Promise<void> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match)
      throw new PushVerificationError('missing_token', 'Authorization: Bearer <OIDC token> is required');
    let payload;
    try {
      payload = (
        await this.client.verifyIdToken({ idToken: match[1], audience: this.config.audience })
      ).getPayload();
    } catch (error) {
      throw new PushVerificationError('invalid_token', `push token rejected: ${(error as Error).message}`);
    }
    if (!payload || payload.email !== this.config.serviceAccountEmail || payload.email_verified !== true) {
      throw new PushVerificationError(
        'wrong_service_account',
        'push token is not from the expected service account',
      );
    }
  }
}

/** Decodes the wrapped Pub/Sub body; undefined when it is not a Gmail notification. */
export function decodeGmailPush(body: unknown): GmailPushNotification | undefined {
  const message = (body as { message?: Record<string, unknown> } | undefined)?.message;
  if (!message || typeof message.data !== 'string') return undefined;
  let decoded: unknown;
  try {
    // Either base64 alphabet, padded or not.
    decoded = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  const { emailAddress, historyId } = (decoded ?? {}) as { emailAddress?: unknown; historyId?: unknown };
  if (typeof emailAddress !== 'string' || (typeof historyId !== 'string' && typeof historyId !== 'number')) {
    return undefined;
  }
  const messageId = message.messageId ?? message.message_id;
  return {
    emailAddress,
    historyId: String(historyId),
    ...(typeof messageId === 'string' ? { messageId } : {}),
  };
}
