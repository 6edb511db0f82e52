import { Injectable } from '@nestjs/common';
import { AppError } from '@mailbridge/platform-runtime';
import type { ConnectionEntity } from './connection.entity';
import { ConnectionsRepository } from './connections.repository';
import { AdminConsentRequestsRepository } from './admin-consent-requests.repository';
import { type ConnectionStatusDto, toStatusView } from './dto/connection.dto';

/** Read side: what the CRM and the other services may know about connections. */
@Injectable()
export class ConnectionQueriesService {
  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly adminConsents: AdminConsentRequestsRepository,
  ) {}

  /**
   * CON-2 + CON-7: the status the CRM shows, with its warning; a connect a Microsoft tenant refused for want of admin
   * consent shows as `admin_consent_required` even when the user has no connection yet.
   */
  async statusView(locationId: string, userId: string): Promise<ConnectionStatusDto> {
    const [connection, adminConsent] = await Promise.all([
      this.connections.findLatest(locationId, userId),
      this.adminConsents.find(locationId, userId),
    ]);
    const view = toStatusView(connection, adminConsent);
    if (!view) throw new AppError('not_found', 'connection_not_found', 'There is no email connection');
    return view;
  }

  async byId(connectionId: string): Promise<ConnectionEntity> {
    const connection = await this.connections.findById(connectionId);
    if (!connection) throw new AppError('not_found', 'connection_not_found', 'Unknown connection');
    return connection;
  }

  /** CON-2: the current connection, else the latest ended one; not found when the user never connected here. */
  async status(locationId: string, userId: string): Promise<ConnectionEntity> {
    const connection = await this.connections.findLatest(locationId, userId);
    if (!connection) throw new AppError('not_found', 'connection_not_found', 'There is no email connection');
    return connection;
  }

  /**
   * Every connection of one user in one location, newest first: sync-engine routes a CRM email with this answer,
   * because its projection may not have taken in a connect or disconnect the CRM has already seen.
   */
  /** The internal list route's two forms: by mailbox, or by user. Mixing them is refused rather than half-honoured. */
  async list(q: { mailboxKey?: string; locationId?: string; userId?: string }): Promise<ConnectionEntity[]> {
    const byUser = q.locationId !== undefined || q.userId !== undefined;
    if (q.mailboxKey !== undefined && byUser) {
      throw new AppError(
        'validation',
        'invalid_request',
        'give either mailboxKey, or locationId and userId, not both',
      );
    }
    return byUser ? this.forUser(q.locationId, q.userId) : this.byMailbox(q.mailboxKey);
  }

  async forUser(locationId: string | undefined, userId: string | undefined): Promise<ConnectionEntity[]> {
    const location = locationId?.trim();
    const user = userId?.trim();
    if (!location || !user) {
      throw new AppError('validation', 'user_required', 'locationId and userId are both required');
    }
    return this.connections.findForUser(location, user, 100);
  }

  /** Every connection of one provider account (`<provider>:<address>`, matched case-insensitively), newest first. */
  async byMailbox(mailboxKey: string | undefined): Promise<ConnectionEntity[]> {
    const match = /^(google|microsoft):(.+@.+)$/i.exec(mailboxKey?.trim() ?? '');
    if (!match) {
      throw new AppError('validation', 'mailbox_key_required', 'mailboxKey=<provider>:<address> is required');
    }
    return this.connections.findByMailboxKey(`${match[1].toLowerCase()}:${match[2].toLowerCase()}`, 500);
  }
}
