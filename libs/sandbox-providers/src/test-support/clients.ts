/**
 * Client configurations that point the official libraries at the sandbox purely through settings. The provider
 * libs copy these options (see docs/sandbox-providers.md); the contract tests use them as they are.
 */
import tls from 'node:tls';
import { ConfidentialClientApplication, type Configuration } from '@azure/msal-node';
import { gmail, type gmail_v1 } from '@googleapis/gmail';
import { Client } from '@microsoft/microsoft-graph-client';
import { OAuth2Client } from 'google-auth-library';

export type PlatformEnv = Record<string, string>;

const trusted = new Set<string>();

/**
 * What the platform does at start with EXTRA_CA_CERTS_FILE (Node >= 22.15 / 24): adds the sandbox CA to the
 * process-wide default CAs, which node:https (MSAL) and the global fetch (Graph client) both use.
 */
export function trustExtraCa(pem: string): void {
  if (trusted.has(pem)) return;
  trusted.add(pem);
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem]);
}

/**
 * google-auth-library with every endpoint from configuration (>= 9.6 has `endpoints`). gaxios 7 loads node-fetch
 * with a dynamic `import()`, which jest's CommonJS runtime refuses ("invoked without --experimental-vm-modules"),
 * so the transporter is given Node's global fetch; Gmail API calls go through this transporter too.
 */
export function googleOAuthClient(env: PlatformEnv, redirectUri?: string): OAuth2Client {
  return new OAuth2Client({
    clientId: env.GOOGLE_CLIENT_ID,
    clientSecret: env.GOOGLE_CLIENT_SECRET,
    redirectUri,
    transporterOptions: { fetchImplementation: fetch },
    endpoints: {
      oauth2AuthBaseUrl: env.GOOGLE_OAUTH_AUTHORIZE_URL,
      oauth2TokenUrl: env.GOOGLE_OAUTH_TOKEN_URL,
      oauth2RevokeUrl: env.GOOGLE_OAUTH_REVOKE_URL,
      oauth2FederatedSignonPemCertsUrl: env.GOOGLE_OAUTH_CERTS_URL,
    },
  });
}

/**
 * `@googleapis/gmail` with the root URL from configuration; retries off so tests see each status. googleapis-common
 * pins its own google-auth-library (10.5.0), so a top-level OAuth2Client needs a cast (it works at run time).
 */
export function gmailClient(env: PlatformEnv, auth: OAuth2Client, retry = false): gmail_v1.Gmail {
  return gmail({
    version: 'v1',
    auth: auth as unknown as gmail_v1.Options['auth'],
    rootUrl: env.GMAIL_API_ROOT_URL,
    retry,
  });
}

/** Media uploads ignore the service-level rootUrl: pass this as the per-call options of `messages.send`. */
export function gmailUploadOptions(env: PlatformEnv): { rootUrl: string } {
  return { rootUrl: env.GMAIL_API_ROOT_URL };
}

/**
 * Graph client on the configured base URL. `customHosts` must hold the host name, or the client strips the
 * Authorization header for anything but graph.microsoft.com.
 */
export function graphClient(env: PlatformEnv, accessToken: () => Promise<string> | string): Client {
  const base = new URL(env.MICROSOFT_GRAPH_BASE_URL);
  return Client.initWithMiddleware({
    baseUrl: `${base.origin}/`,
    defaultVersion: 'v1.0',
    customHosts: new Set([base.hostname]),
    authProvider: { getAccessToken: async () => accessToken() },
  });
}

/**
 * MSAL on an https authority from configuration: `knownAuthorities` (host:port) makes MSAL trust the host without
 * instance discovery; it then reads `{authority}/v2.0/.well-known/openid-configuration` from the emulator.
 */
export function msalConfiguration(env: PlatformEnv, extra: Partial<Configuration> = {}): Configuration {
  const authorityHost = new URL(env.MICROSOFT_AUTHORITY_HOST);
  return {
    ...extra,
    auth: {
      clientId: env.MICROSOFT_CLIENT_ID,
      clientSecret: env.MICROSOFT_CLIENT_SECRET,
      authority: `${authorityHost.origin}/${env.MICROSOFT_TENANT}`,
      knownAuthorities: [authorityHost.host],
      ...extra.auth,
    },
  };
}

export function msalClient(
  env: PlatformEnv,
  extra: Partial<Configuration> = {},
): ConfidentialClientApplication {
  return new ConfidentialClientApplication(msalConfiguration(env, extra));
}
