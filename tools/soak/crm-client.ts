// The CRM's side of the platform as the soak and the bench drive it: JSON over HTTP, the bearer token the CRM gateway
// signs, and the OAuth dance the user's browser does against the sandbox consent screen.
import jwt from 'jsonwebtoken';

export interface Answer<T> {
  status: number;
  body: T;
}

/** JSON over HTTP with a timeout; a refused connection or a timeout is status 0 (the platform may be killed). */
export async function call<T = unknown>(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  try {
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(20_000),
      headers: {
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: body as T };
  } catch {
    return { status: 0, body: undefined as T };
  }
}

/** A CRM bearer token for one user of one location, as the CRM gateway signs it. */
export function crmToken(authJwtSecret: string, locationId: string, userId: string): string {
  return jwt.sign({ loc: locationId }, authJwtSecret, {
    subject: userId,
    algorithm: 'HS256',
    expiresIn: 4 * 3600,
  });
}

/**
 * The OAuth dance as the user's browser does it: ask identity-connections for the authorize URL, go to the sandbox
 * consent screen (it consents at once for the `login_hint` mailbox), follow the redirects back to `returnUrl`.
 */
export async function connectMailbox(o: {
  identityConnectionsUrl: string;
  token: string;
  locationId: string;
  userId: string;
  provider: 'google' | 'microsoft';
  mailbox: string;
  returnUrl: string;
}): Promise<void> {
  const connectionUrl = `${o.identityConnectionsUrl}/v1/locations/${o.locationId}/users/${o.userId}/email-connection`;
  const started = await call<{ authorizeUrl: string }>(`${connectionUrl}/${o.provider}/authorize`, {
    method: 'POST',
    token: o.token,
    body: { returnUrl: o.returnUrl },
  });
  if (started.status !== 200) throw new Error(`authorize answered ${started.status}`);
  const authorize = new URL(started.body.authorizeUrl);
  authorize.searchParams.set('login_hint', o.mailbox);
  let next = authorize.toString();
  for (let hop = 0; hop < 10 && !next.startsWith(o.returnUrl); hop++) {
    const res = await fetch(next, { redirect: 'manual', signal: AbortSignal.timeout(20_000) });
    const location = res.headers.get('location');
    if (!location) throw new Error(`${next} answered ${res.status} without a redirect`);
    next = new URL(location, next).toString();
  }
  const status = next.startsWith(o.returnUrl) ? new URL(next).searchParams.get('status') : null;
  if (status !== 'connected') throw new Error(`connect of ${o.mailbox} ended at ${next}`);
}
