import { Inject, Injectable } from '@nestjs/common';
import { sendAsProfileFromAnswer, type SendAsProfile } from '@mailbridge/domain-mail';
import { AppError, INTERNAL_API_TOKEN, callInternalService } from '@mailbridge/platform-runtime';
import { CONVERSATIONS_CONFIG } from '../common/tokens';
import type { ConversationsConfig } from '../conversations.config';

/**
 * SND-7: the connection's send-as addresses from identity-connections (`GET /internal/connections/{id}/send-as`),
 * asked only when a send names a From other than the connected address.
 */
@Injectable()
export class SendAsClient {
  constructor(
    @Inject(CONVERSATIONS_CONFIG) private readonly config: ConversationsConfig,
    @Inject(INTERNAL_API_TOKEN) private readonly internalToken: string,
  ) {}

  async profile(connectionId: string): Promise<SendAsProfile> {
    const unavailable = () =>
      new AppError(
        'unavailable',
        'send_as_unavailable',
        "The mailbox's send-as addresses cannot be checked right now; nothing was sent, try again",
      );
    let res;
    try {
      res = await callInternalService({
        baseUrl: this.config.IDENTITY_CONNECTIONS_URL,
        path: `/internal/connections/${encodeURIComponent(connectionId)}/send-as`,
        token: this.internalToken,
        timeoutMs: this.config.SEND_AS_LOOKUP_TIMEOUT_MS,
      });
    } catch {
      throw unavailable();
    }
    const profile = res.status === 200 ? sendAsProfileFromAnswer(res.body) : null;
    if (!profile) throw unavailable();
    return profile;
  }
}
