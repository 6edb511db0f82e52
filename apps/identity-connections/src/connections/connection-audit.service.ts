import { Inject, Injectable } from '@nestjs/common';
import { AppError, INTERNAL_API_TOKEN } from '@mailbridge/platform-runtime';
import { IDENTITY_CONFIG, type IdentityConnectionsConfig } from '../identity-connections.config';
import type { AuditReportInfo } from './connection.entity';

/** An audit of a mailbox lists a few provider pages and re-drives what is missing: seconds, not minutes. */
const AUDIT_TIMEOUT_MS = 25_000;

/** SYN-10: runs a completeness audit now, on mail-gateway (which owns the provider view and the ledger). */
@Injectable()
export class ConnectionAuditService {
  constructor(
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConnectionsConfig,
    @Inject(INTERNAL_API_TOKEN) private readonly internalToken: string,
  ) {}

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
