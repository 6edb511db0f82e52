import { Inject, Injectable } from '@nestjs/common';
import {
  appendSignature,
  decideSendAs,
  sendAsProfileFromAnswer,
  type SendAsProfile,
} from '@mailbridge/domain-mail';
import { INTERNAL_API_TOKEN, callInternalService } from '@mailbridge/platform-runtime';
import { MAIL_GATEWAY_CONFIG, type MailGatewayConfig } from '../mail-gateway.config';
import { NotSentError, type SendCommand } from './send-command';

export type PreparedSend =
  | { readonly ok: true; readonly command: SendCommand }
  | { readonly ok: false; readonly code: string; readonly message: string };

/**
 * SND-7, the last line before the provider: the From of a send through a mailbox must still be one of the mailbox's
 * verified send-as addresses (`decideSendAs`, as conversations decided when it accepted the send), and the signature
 * is appended when the connection's setting says so. Applied to the command of each attempt, never stored: a retry
 * starts again from the requested bodies, so the signature is never doubled.
 */
@Injectable()
export class SendAsResolver {
  /**
   * The last answer per connection. Fresh for `SEND_AS_FRESH_SECONDS` (a minute) (a changed setting or alias shows within it); when
   * identity-connections cannot answer (a restart, a deploy), the last known answer serves, as cached access tokens
   * do, so a send never fails only because identity-connections was briefly away.
   */
  private readonly known = new Map<string, { profile: SendAsProfile; at: number }>();

  constructor(
    @Inject(MAIL_GATEWAY_CONFIG) private readonly config: MailGatewayConfig,
    @Inject(INTERNAL_API_TOKEN) private readonly internalToken: string,
  ) {}

  async prepare(command: SendCommand): Promise<PreparedSend> {
    if (command.route.kind !== 'mailbox') return { ok: true, command };
    const verdict = decideSendAs(command.from?.address, await this.profile(command.route));
    if (verdict.outcome === 'refuse') return { ok: false, code: verdict.code, message: verdict.message };
    const bodies = appendSignature({ text: command.text, html: command.html }, verdict.signature);
    return {
      ok: true,
      command: {
        ...command,
        from: { ...(command.from?.name ? { name: command.from.name } : {}), address: verdict.from },
        text: bodies.text,
        html: bodies.html,
      },
    };
  }

  private async profile(route: {
    connectionId: string;
    mailboxKey: string;
    fromAddress: string;
  }): Promise<SendAsProfile> {
    const { connectionId } = route;
    // Keyed by the mailbox too: an update of the connection's email (CON-3) is another mailbox, never served stale.
    const key = `${connectionId}|${route.mailboxKey}|${route.fromAddress.toLowerCase()}`;
    const cached = this.known.get(key);
    if (cached && Date.now() - cached.at < this.config.SEND_AS_FRESH_SECONDS * 1000) return cached.profile;
    try {
      const profile = await this.fetchProfile(connectionId);
      this.known.set(key, { profile, at: Date.now() });
      return profile;
    } catch (error) {
      if (cached) return cached.profile;
      throw error;
    }
  }

  /** Not reachable or no answer: certainly not sent yet, so the send is retried later. */
  private async fetchProfile(connectionId: string): Promise<SendAsProfile> {
    let res;
    try {
      res = await callInternalService({
        baseUrl: this.config.IDENTITY_CONNECTIONS_URL,
        path: `/internal/connections/${encodeURIComponent(connectionId)}/send-as`,
        token: this.internalToken,
        timeoutMs: this.config.PROVIDER_TIMEOUT_MS,
      });
    } catch (error) {
      throw new NotSentError(error);
    }
    const profile = res.status === 200 ? sendAsProfileFromAnswer(res.body) : null;
    if (!profile) throw new NotSentError(new Error(`send-as addresses unavailable (HTTP ${res.status})`));
    return profile;
  }
}
