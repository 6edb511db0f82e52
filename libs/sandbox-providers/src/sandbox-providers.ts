// Starts the sandbox: builds the shared emulator state, the control API and the platform's environment, then the
// servers (sandbox-servers.ts).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { controlRoutes } from './control/control-routes';
import { SandboxControl } from './control/sandbox-control';
import type { SandboxState } from './control/sandbox-state';
import { GmailQuota } from './gmail/gmail-quota';
import { GmailService } from './gmail/gmail-service';
import { PubSubPush } from './gmail/pubsub-push';
import { GoogleAccounts } from './google/google-accounts';
import { GraphService } from './graph/graph-service';
import { GraphSubscriptions } from './graph/graph-subscriptions';
import { GraphThrottle } from './graph/graph-throttle';
import { MicrosoftAccounts } from './microsoft/microsoft-accounts';
import {
  SANDBOX_DEFAULTS,
  type SandboxProviders,
  type SandboxProvidersOptions,
  type SandboxUrls,
} from './sandbox-options';
import { startEmulatorServers } from './sandbox-servers';
import { systemClock } from './shared/clock';
import { FaultInjector } from './shared/faults';
import { IdFactory } from './shared/id-factory';
import { keyMaterial } from './shared/key-material';
import { PostOffice } from './shared/post-office';

export {
  SANDBOX_DEFAULTS,
  type SandboxProviders,
  type SandboxProvidersOptions,
  type SandboxUrls,
} from './sandbox-options';

/** Starts every emulator on 127.0.0.1 (free ports by default) and returns their URLs, control API and config. */
export async function startSandboxProviders(
  options: SandboxProvidersOptions = {},
): Promise<SandboxProviders> {
  const host = options.host ?? '127.0.0.1';
  const publicHost = options.publicHost ?? (host === '0.0.0.0' || host === '::' ? 'localhost' : host);
  const clock = options.clock ?? systemClock;
  const ids = new IdFactory(options.seed);
  const keys = await keyMaterial([publicHost]);
  const g = options.google ?? {};
  const ms = options.microsoft ?? {};
  const urls: SandboxUrls = { google: '', gmail: '', graph: '', microsoft: '' };

  const postOffice = new PostOffice(clock);
  const googleAccounts = new GoogleAccounts(clock, ids, keys.google);
  const googleClientId = g.clientId ?? SANDBOX_DEFAULTS.googleClientId;
  const googleClientSecret = g.clientSecret ?? SANDBOX_DEFAULTS.googleClientSecret;
  googleAccounts.addClient({
    clientId: googleClientId,
    clientSecret: googleClientSecret,
    redirectUris: g.redirectUris ?? [],
    testingMode: g.testingMode ?? false,
  });
  const gmail = new GmailService(clock, ids, postOffice, googleAccounts, {
    historyRetentionMs: g.historyRetentionMs ?? 7 * 86_400_000,
  });
  const quota = new GmailQuota(clock, g.quotaUnitsPerMinute ?? 15_000);
  const push = new PubSubPush(clock, ids, keys.google, {
    minIntervalMs: g.pushMinIntervalMs ?? 1000,
    ackDeadlineMs: g.pushAckDeadlineMs ?? 10_000,
    retry: { maxAttempts: 20, minBackoffMs: 1000, maxBackoffMs: 60_000, ...g.pushRetry },
  });
  const projectId = g.projectId ?? SANDBOX_DEFAULTS.googleProjectId;
  const pubsubTopic = g.pubsubTopic ?? `projects/${projectId}/topics/gmail-watch`;
  const pushAudience = g.pushAudience ?? SANDBOX_DEFAULTS.pushAudience;
  const pushServiceAccount = g.pushServiceAccount ?? `gmail-push@${projectId}.iam.gserviceaccount.com`;
  push.configureTopic({
    topicName: pubsubTopic,
    subscription: `projects/${projectId}/subscriptions/gmail-watch-push`,
    pushEndpoint: g.pushEndpoint,
    audience: pushAudience,
    serviceAccountEmail: pushServiceAccount,
  });
  gmail.onHistory((mailbox, record) => push.onHistory(mailbox, record, clock.now()));

  const microsoftAccounts = new MicrosoftAccounts(clock, ids, keys.microsoft, () => urls.microsoft);
  const microsoftClientId = ms.clientId ?? SANDBOX_DEFAULTS.microsoftClientId;
  const microsoftClientSecret = ms.clientSecret ?? SANDBOX_DEFAULTS.microsoftClientSecret;
  microsoftAccounts.addApp({
    clientId: microsoftClientId,
    clientSecret: microsoftClientSecret,
    redirectUris: ms.redirectUris ?? [],
    permissions: ms.permissions,
  });
  microsoftAccounts.adminConsentRequired = ms.adminConsentRequired ?? false;
  const graph = new GraphService(clock, ids, postOffice, microsoftAccounts);
  const subscriptions = new GraphSubscriptions(clock, ids, {
    maxExpirationMinutes: ms.subscriptionMaxMinutes ?? 4230,
    validationTimeoutMs: ms.validationTimeoutMs ?? 10_000,
    notificationTimeoutMs: ms.notificationTimeoutMs ?? 3_000,
    requireHttps: ms.requireHttpsNotificationUrl ?? false,
    maxPerMailbox: 1000,
    retry: { maxAttempts: 12, minBackoffMs: 1000, maxBackoffMs: 60_000, ...ms.notificationRetry },
  });
  graph.onMailbox((mailbox) =>
    mailbox.onChange((message, type, folder) =>
      subscriptions.onChange(mailbox, message, type, folder, message.restId),
    ),
  );
  // Revoked sessions make Graph ask the subscriber to reauthorize, as it does when a token goes bad.
  microsoftAccounts.onRevoke((account) => {
    for (const sub of subscriptions.list()) {
      if (sub.creatorId === account.oid) subscriptions.lifecycle(sub, 'reauthorizationRequired', account.tid);
    }
  });
  const throttle = new GraphThrottle(clock);

  const state: SandboxState = {
    clock,
    ids,
    postOffice,
    googleAccounts,
    gmail,
    quota,
    push,
    microsoftAccounts,
    graph,
    subscriptions,
    throttle,
    faults: {
      gmail: new FaultInjector(),
      graph: new FaultInjector(),
      'google-oauth': new FaultInjector(),
      'microsoft-identity': new FaultInjector(),
    },
    settings: {
      googleConsent: g.consent ?? { mode: 'auto' },
      microsoftConsent: ms.consent ?? { mode: 'auto' },
      gmailJsonLimitBytes: g.jsonLimitBytes ?? 5 * 1024 * 1024,
      quotaErrorStatus: g.quotaErrorStatus ?? 429,
      graphLatencyMs: 0,
    },
    config: { googleClientId, microsoftClientId, pubsubTopic, pushAudience, pushServiceAccount },
  };
  const control = new SandboxControl(state);

  const caCertPem = keys.tls.caCertPem;
  const caCertFile =
    options.caCertFile ??
    path.join(
      tmpdir(),
      'mailbridge-sandbox',
      `ca-${createHash('sha256').update(caCertPem).digest('hex').slice(0, 16)}.pem`,
    );
  mkdirSync(path.dirname(caCertFile), { recursive: true });
  writeFileSync(caCertFile, caCertPem);

  const platformEnv = (): Record<string, string> => ({
    GOOGLE_CLIENT_ID: googleClientId,
    GOOGLE_CLIENT_SECRET: googleClientSecret,
    GOOGLE_OAUTH_AUTHORIZE_URL: `${urls.google}/o/oauth2/v2/auth`,
    GOOGLE_OAUTH_TOKEN_URL: `${urls.google}/token`,
    GOOGLE_OAUTH_REVOKE_URL: `${urls.google}/revoke`,
    GOOGLE_OAUTH_CERTS_URL: `${urls.google}/oauth2/v1/certs`,
    GOOGLE_USERINFO_URL: `${urls.google}/oauth2/v3/userinfo`,
    GMAIL_API_ROOT_URL: `${urls.gmail}/`,
    GMAIL_PUBSUB_TOPIC: pubsubTopic,
    GMAIL_PUSH_AUDIENCE: pushAudience,
    GMAIL_PUSH_SERVICE_ACCOUNT: pushServiceAccount,
    MICROSOFT_CLIENT_ID: microsoftClientId,
    MICROSOFT_CLIENT_SECRET: microsoftClientSecret,
    MICROSOFT_TENANT: ms.tenant ?? SANDBOX_DEFAULTS.microsoftTenant,
    MICROSOFT_AUTHORITY_HOST: urls.microsoft,
    MICROSOFT_GRAPH_BASE_URL: urls.graph,
    EXTRA_CA_CERTS_FILE: caCertFile,
  });
  const control$ = controlRoutes({ control, env: platformEnv, urls: () => ({ ...urls }), caCertPem });
  const servers = await startEmulatorServers({
    host,
    publicHost,
    ports: options.ports ?? {},
    keys,
    state,
    urls,
    control: control$,
    projectId,
    tenantDomain: ms.tenantDomain ?? SANDBOX_DEFAULTS.tenantDomain,
  });

  for (const m of options.mailboxes ?? []) control.createMailbox(m);

  let closed = false;
  return {
    urls,
    control,
    platformEnv,
    caCertPem,
    caCertFile,
    close: async () => {
      if (closed) return;
      closed = true;
      push.close();
      subscriptions.close();
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
