import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessTokenClient } from './access-token.client';
import type { CallTarget } from './provider-call.policy';
import { AccessTokenUnavailableError } from './provider-failure';
import { LendingConnectionsRepository } from './lending-connections.repository';

/** How long a target keeps using the connection that lent its last token before reading the connections again. */
const LENDER_REUSE_MS = 30_000;

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
        // A pull makes a call per page and per batch (issue 16): the connection chosen a moment ago lends again
        // while its token is held, without reading the mailbox's connections for every call.
        if (
          current &&
          !forceRefresh &&
          Date.now() - chosenAt < LENDER_REUSE_MS &&
          this.tokens.cached(current)
        )
          return this.tokens.tokenFor(current);
        if (forceRefresh && current) {
          try {
            return await this.tokens.tokenFor(current, true);
          } catch (error) {
            // Its grant ended meanwhile: another active connection may still lend one (SYN-4), read below.
            if (!(error instanceof AccessTokenUnavailableError && error.code === 'auth_revoked')) throw error;
            current = undefined;
          }
        }
        const connections = await LendingConnectionsRepository.active(this.dataSource, mailbox.id);
        let refused: AccessTokenUnavailableError | undefined;
        for (const connectionId of connections) {
          try {
            const token = await this.tokens.tokenFor(connectionId, forceRefresh);
            current = connectionId;
            chosenAt = Date.now();
            return token;
          } catch (error) {
            // This grant is dead or over; another connection to the same mailbox may still serve (SYN-4).
            if (error instanceof AccessTokenUnavailableError && error.code === 'auth_revoked') {
              refused = error;
              continue;
            }
            throw error;
          }
        }
        if (options.lastWords && !forceRefresh) {
          const ended = await LendingConnectionsRepository.all(this.dataSource, mailbox.id);
          for (const connectionId of ended) {
            const token = this.tokens.cached(connectionId);
            if (token) return token;
          }
        }
        throw (
          refused ?? new AccessTokenUnavailableError('auth_revoked', 'no active connection for this mailbox')
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
