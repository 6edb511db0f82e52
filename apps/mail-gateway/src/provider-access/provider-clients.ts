import { GmailApi, PushTokenVerifier } from '@mailbridge/providers-google';
import { GraphMailApi } from '@mailbridge/providers-microsoft';
import { gmailPushAudienceOf, MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';

/** The provider clients, built once from configuration (real endpoints, or the sandbox in embedded mode). */
export const providerClients = [
  {
    provide: GmailApi,
    inject: [MAIL_GATEWAY_CONFIG],
    useFactory: (c: MailGatewayConfig) =>
      new GmailApi({ rootUrl: c.GMAIL_API_ROOT_URL, timeoutMs: c.PROVIDER_TIMEOUT_MS }),
  },
  {
    provide: GraphMailApi,
    inject: [MAIL_GATEWAY_CONFIG],
    useFactory: (c: MailGatewayConfig) =>
      new GraphMailApi({ baseUrl: c.MICROSOFT_GRAPH_BASE_URL, timeoutMs: c.PROVIDER_TIMEOUT_MS }),
  },
  {
    provide: PushTokenVerifier,
    inject: [MAIL_GATEWAY_CONFIG],
    useFactory: (c: MailGatewayConfig) =>
      new PushTokenVerifier({
        certsUrl: c.GOOGLE_OAUTH_CERTS_URL,
        audience: gmailPushAudienceOf(c),
        // Without a configured service account no token can match, so every push is refused.
        serviceAccountEmail: c.GMAIL_PUSH_SERVICE_ACCOUNT ?? '',
      }),
  },
];
