import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessTokenClient } from './access-token.client';
import type { CallTarget } from './provider-call.policy';
import { AccessTokenUnavailableError } from './provider-failure';
import { LendingConnectionsRepository } from './lending-connections.repository';

/**
 * Within one operation (a setup, a pull), the connection that lent the last token lends the next ones for this long
 * without the mailbox's connections being read again: one read per operation instead of one per provider call. A
 * refusal (the grant or the connection ended: identity-connections decides at every token fetch) or a longer
 * operation reads them again, so an ended connection stops lending as soon as before.
 */
export const LENDER_RECHECK_MS = 15_000;

const refused = (error: unknown): error is AccessTokenUnavailableError =>
  error instanceof AccessTokenUnavailableError && error.code === 'auth_revoked';

/** Call targets: a mailbox (any of its active connections can lend a token) or one connection (a send). */
@Injectable()
export class MailboxAccess {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tokens: AccessTokenClient,
  ) {}

  /**
   * `lastWords`: the mailbox is being stopped because its connections ended (CON-4), whose grants identity-connections
   * revokes at once; an access token we still hold may outlive that (Graph tokens do) and is enough to remove the
   * subscriptions.
   */
  forMailbox(
    mailbox: { id: string; mailboxKey: string; provider: 'google' | 'microsoft' },
    options: { lastWords?: boolean } = {},
  ): CallTarget {
    let current: string | undefined;
    let chosenAt = 0;
    return {
      key: mailbox.mailboxKey,
      provider: mailbox.provider,
      token: async (forceRefresh) => {
        if (forceRefresh && current) return this.tokens.tokenFor(current, true);
        if (current && Date.now() - chosenAt < LENDER_RECHECK_MS) {
          try {
            return await this.tokens.tokenFor(current, false);
          } catch (error) {
            if (!refused(error)) throw error;
          }
        }
        const connections = await LendingConnectionsRepository.active(this.dataSource, mailbox.id);
        let refusal: AccessTokenUnavailableError | undefined;
        for (const connectionId of connections) {
          try {
            const token = await this.tokens.tokenFor(connectionId, forceRefresh);
            current = connectionId;
            chosenAt = Date.now();
            return token;
          } catch (error) {
            // This grant is dead or over; another connection to the same mailbox may still serve (SYN-4).
            if (refused(error)) {
              refusal = error;
              continue;
            }
            throw error;
          }
        }
        current = undefined;
        if (options.lastWords && !forceRefresh) {
          const ended = await LendingConnectionsRepository.all(this.dataSource, mailbox.id);
          for (const connectionId of ended) {
            const token = this.tokens.cached(connectionId);
            if (token) return token;
          }
        }
        throw (
          refusal ?? new AccessTokenUnavailableError('auth_revoked', 'no active connection for this mailbox')
        );
      },
    };
  }

  forConnection(connectionId: string, mailboxKey: string, provider: 'google' | 'microsoft'): CallTarget {
    return {
      key: mailboxKey,
      provider,
      token: (forceRefresh) => this.tokens.tokenFor(connectionId, forceRefresh),
    };
  }
}
