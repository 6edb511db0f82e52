import { queryRows, type Queryable } from '@mailbridge/platform-persistence';

/** The connections of a mailbox that may lend it an access token (read by MailboxAccess, no DI needed). */
export const LendingConnectionsRepository = {
  /** Active connections, the most recently changed first. */
  async active(db: Queryable, mailboxId: string): Promise<string[]> {
    const rows = await queryRows<{ connection_id: string }>(
      db,
      `SELECT connection_id FROM mail_gateway.mailbox_connections
        WHERE mailbox_id = $1 AND status = 'active' ORDER BY changed_at DESC`,
      [mailboxId],
    );
    return rows.map((r) => r.connection_id);
  },

  /** Every connection the mailbox ever had (ended ones too). */
  async all(db: Queryable, mailboxId: string): Promise<string[]> {
    const rows = await queryRows<{ connection_id: string }>(
      db,
      `SELECT connection_id FROM mail_gateway.mailbox_connections WHERE mailbox_id = $1`,
      [mailboxId],
    );
    return rows.map((r) => r.connection_id);
  },
};
