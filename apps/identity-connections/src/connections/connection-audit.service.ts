import { Inject, Injectable } from '@nestjs/common';
import { AppError, INTERNAL_API_TOKEN } from '@mailbridge/platform-runtime';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import type { AuditReportInfo, ConnectionEntity } from './connection.entity';
import { ConnectionsRepository } from './connections.repository';

/** An audit of a mailbox lists a few provider pages and re-drives what is missing: seconds, not minutes. */
const AUDIT_TIMEOUT_MS = 25_000;

/** SYN-10: runs a completeness audit now, on mail-gateway (which owns the provider view and the ledger). */
@Injectable()
export class ConnectionAuditService {
  constructor(
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConnectionsConfig,
    @Inject(INTERNAL_API_TOKEN) private readonly internalToken: string,
    private readonly connections: ConnectionsRepository,
  ) {}

  /**
   * Runs it and keeps its report on the connection before answering, so a GET right after shows it (the
   * mailbox.audited event stores the same report again; the later of two reports wins either way).
   */
  async runAndKeep(connection: ConnectionEntity): Promise<AuditReportInfo> {
    const answer = await this.runNow(connection.mailboxKey);
    // The report's fields only (mail-gateway's answer has operator fields too), as the event carries them.
    const report: AuditReportInfo = {
      window: answer.window,
      checkedAt: answer.checkedAt,
      providerMessages: answer.providerMessages,
      accounted: answer.accounted,
      missing: answer.missing,
      healed: answer.healed,
      status: answer.status,
    };
    await this.connections.applyAudit(this.connections.manager, [
      { connectionId: connection.connectionId, locationId: connection.locationId, report },
    ]);
    return report;
  }

  async runNow(mailboxKey: string): Promise<AuditReportInfo> {
    const url = `${this.config.MAIL_GATEWAY_URL.replace(/\/$/, '')}/internal/mailboxes/${encodeURIComponent(mailboxKey)}/audit`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.internalToken}` },
        signal: AbortSignal.timeout(AUDIT_TIMEOUT_MS),
      });
    } catch {
      throw new AppError(
        'unavailable',
        'audit_unavailable',
        'mail-gateway could not be reached to run the audit',
      );
    }
    if (res.status === 404) {
      throw new AppError('not_found', 'mailbox_not_found', 'The mailbox is not watched (yet)');
    }
    if (!res.ok) {
      throw new AppError('unavailable', 'audit_unavailable', `mail-gateway answered ${res.status}`);
    }
    return (await res.json()) as AuditReportInfo;
  }
}
